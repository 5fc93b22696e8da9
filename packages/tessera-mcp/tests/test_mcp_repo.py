"""Namespace detection on real temporary git repositories."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from tessera_mcp.repo import detect_namespace, legacy_slug_from_remote, repo_slug_from_remote


@pytest.mark.parametrize(
    ("remote", "expected"),
    [
        ("https://github.com/acme/widget.git", "repo:acme/widget"),
        ("https://github.com/acme/widget", "repo:acme/widget"),
        ("git@github.com:acme/widget.git", "repo:acme/widget"),
        ("github.com:acme/widget", "repo:acme/widget"),
        ("ssh://git@git.example.com:2222/acme/widget.git", "repo:acme/widget"),
        ("https://x-access-token:ghs_s3cr3t@github.com/acme/widget.git", "repo:acme/widget"),
        # 0.1.4's rule: the last two parts of the URL (a GitLab subgroup drops its group).
        ("https://gitlab.com/group/sub/widget.git", "repo:sub/widget"),
    ],
)
def test_origin_remote_gives_owner_and_repo(
    make_repo: Callable[..., Path], remote: str, expected: str
) -> None:
    repo = make_repo("checkout", remote)
    ns = detect_namespace(repo, {})
    assert ns.user_id == expected
    assert ns.source == "git origin remote"
    assert ns.project_dir == repo.resolve()
    assert "s3cr3t" not in ns.user_id


def test_detection_from_a_subfolder_uses_the_repository(make_repo: Callable[..., Path]) -> None:
    repo = make_repo("checkout", "git@github.com:acme/widget.git")
    deep = repo / "src" / "pkg"
    deep.mkdir(parents=True)
    assert detect_namespace(deep, {}).user_id == "repo:acme/widget"


def test_repository_without_remote_uses_top_level_folder(make_repo: Callable[..., Path]) -> None:
    repo = make_repo("my-project")
    sub = repo / "docs"
    sub.mkdir()
    ns = detect_namespace(sub, {})
    assert ns.user_id == "repo:my-project"
    assert ns.source == "git top-level folder"


def test_remote_other_than_origin_is_ignored(make_repo: Callable[..., Path]) -> None:
    repo = make_repo("fork-checkout")
    subprocess.run(
        ["git", "-C", str(repo), "remote", "add", "upstream", "https://github.com/acme/widget.git"],
        check=True,
    )
    assert detect_namespace(repo, {}).user_id == "repo:fork-checkout"


def test_local_path_remote_uses_its_last_two_parts(
    make_repo: Callable[..., Path], tmp_path: Path
) -> None:
    repo = make_repo("clone", str(tmp_path / "srv" / "widget.git"))
    ns = detect_namespace(repo, {})
    assert ns.user_id == "repo:srv/widget"
    # Earlier releases of this server used the last folder only; reads cover that name too.
    assert ns.legacy_user_id == "repo:widget"
    assert ns.read_ids == ("repo:srv/widget", "repo:widget")


def test_legacy_names_are_kept_only_where_they_differ(
    make_repo: Callable[..., Path], tmp_path: Path
) -> None:
    github = detect_namespace(make_repo("gh", "git@github.com:acme/widget.git"), {})
    assert (github.user_id, github.legacy_user_id, github.read_ids) == (
        "repo:acme/widget",
        None,
        ("repo:acme/widget",),
    )
    subgroup = detect_namespace(make_repo("gl", "https://gitlab.com/group/sub/widget.git"), {})
    assert subgroup.read_ids == ("repo:sub/widget", "repo:group/sub/widget")
    folder = tmp_path / "plain"
    folder.mkdir()
    assert detect_namespace(folder, {}).read_ids == ("repo:plain",)


def test_not_a_repository_uses_the_working_directory_name(tmp_path: Path) -> None:
    plain = tmp_path / "scratch-dir"
    plain.mkdir()
    ns = detect_namespace(plain, {})
    assert ns.user_id == "repo:scratch-dir"
    assert ns.source == "working directory"


def test_defaults_to_the_process_working_directory(
    make_repo: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo("cwd-repo", "https://github.com/acme/from-cwd.git")
    monkeypatch.chdir(repo)
    assert detect_namespace(None, {}).user_id == "repo:acme/from-cwd"


def test_tessera_repo_overrides_detection(make_repo: Callable[..., Path]) -> None:
    repo = make_repo("checkout", "git@github.com:acme/widget.git")
    # Verbatim, as 0.1.4 used it; the prefixed name earlier releases of this server gave it is
    # read too.
    named = detect_namespace(repo, {"TESSERA_REPO": "acme/other"})
    assert (named.user_id, named.legacy_user_id) == ("acme/other", "repo:acme/other")
    prefixed = detect_namespace(repo, {"TESSERA_REPO": "repo:team/x"})
    assert (prefixed.user_id, prefixed.read_ids) == ("repo:team/x", ("repo:team/x",))
    assert detect_namespace(repo, {"TESSERA_REPO": "acme/other"}).source == "TESSERA_REPO"
    # blank means unset
    assert detect_namespace(repo, {"TESSERA_REPO": "  "}).user_id == "repo:acme/widget"


def test_tessera_session_sets_the_session(tmp_path: Path) -> None:
    assert detect_namespace(tmp_path, {}).session_id is None
    assert detect_namespace(tmp_path, {"TESSERA_SESSION": "sprint-12"}).session_id == "sprint-12"


def test_tessera_project_dir_chooses_the_folder(
    make_repo: Callable[..., Path], tmp_path: Path
) -> None:
    repo = make_repo("elsewhere", "https://github.com/acme/elsewhere.git")
    other = tmp_path / "unrelated"
    other.mkdir()
    ns = detect_namespace(other, {"TESSERA_PROJECT_DIR": str(repo)})
    assert ns.user_id == "repo:acme/elsewhere"


def test_without_git_on_path_falls_back_to_the_folder_name(
    make_repo: Callable[..., Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    repo = make_repo("no-git-here", "https://github.com/acme/widget.git")
    empty_bin = tmp_path / "empty-bin"
    empty_bin.mkdir()
    monkeypatch.setenv("PATH", str(empty_bin))
    ns = detect_namespace(repo, {})
    assert ns.user_id == "repo:no-git-here"
    assert ns.source == "working directory"


@pytest.mark.parametrize(
    ("url", "slug"),
    [
        ("https://github.com/acme/widget.git/", "acme/widget"),
        ("http://git.internal:8080/acme/widget", "acme/widget"),
        ("git://example.org/acme/widget.git", "acme/widget"),
        ("ssh://example.org/~user/widget.git", "~user/widget"),
        ("file:///srv/git/widget.git", "git/widget"),
        ("/srv/git/widget.git", "git/widget"),
        ("https://gitlab.com/a/b/c/widget", "c/widget"),
        # Credentials never become part of a name (0.1.4 kept "tok@host" here).
        ("https://user:tok@host.example/widget.git", "host.example/widget"),
        ("widget", None),
        ("", None),
    ],
)
def test_remote_url_parsing(url: str, slug: str | None) -> None:
    assert repo_slug_from_remote(url) == slug


@pytest.mark.parametrize(
    ("url", "slug"),
    [
        ("https://github.com/acme/widget.git/", "acme/widget"),
        ("https://gitlab.com/group/sub/widget.git", "group/sub/widget"),
        ("file:///srv/git/widget.git", "widget"),
        ("/srv/git/widget.git", "widget"),
        ("../widget", "widget"),
        ("C:\\repos\\widget.git", "widget"),
        ("", None),
        ("https://github.com/", None),
    ],
)
def test_legacy_remote_url_parsing(url: str, slug: str | None) -> None:
    assert legacy_slug_from_remote(url) == slug


def test_unexpanded_or_missing_project_dir_is_ignored(make_repo: Callable[..., Path]) -> None:
    repo = make_repo("real", "https://github.com/acme/real.git")
    for value in ("${workspaceFolder}", str(repo / "does-not-exist")):
        ns = detect_namespace(repo, {"TESSERA_PROJECT_DIR": value})
        assert ns.user_id == "repo:acme/real"


def test_filesystem_root_gets_a_fixed_name() -> None:
    ns = detect_namespace("/", {"GIT_CEILING_DIRECTORIES": "/"})
    assert ns.user_id == "repo:unknown"
    assert ns.legacy_user_id == "repo:default"
