"""Where the repository, the data and the results are."""

from __future__ import annotations

from pathlib import Path


def repo_root(start: Path | None = None) -> Path:
    """The project root: the nearest ancestor holding ``bench/pyproject.toml``.

    Searched from ``start`` (default: the working directory), then from this file's location
    (an editable install lives inside the repository); falls back to the working directory.
    """
    here = Path(__file__).resolve()
    for origin in (start or Path.cwd(), here):
        for candidate in (origin, *origin.parents):
            if (candidate / "bench" / "pyproject.toml").is_file():
                return candidate
    return Path.cwd()


def default_data_dir() -> Path:
    return (repo_root() / ".." / "shared" / "bench").resolve()


def default_results_dir() -> Path:
    return repo_root() / "bench" / "results"


def default_cache_dir() -> Path:
    return repo_root() / "bench" / ".cache"


def default_work_dir() -> Path:
    return repo_root() / "bench" / ".work"


def server_vocab() -> Path | None:
    """The WordPiece vocabulary shipped in the server package's source tree, if present."""
    path = (
        repo_root() / "packages/tessera-server/src/tessera_server/providers/embedder/data/vocab.txt"
    )
    return path if path.is_file() else None
