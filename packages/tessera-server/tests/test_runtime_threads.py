"""The service's numpy runs BLAS on one thread: requests already run in parallel threads, and
BLAS threads of their own made eight concurrent searches at 10k memories 40 % slower."""

from __future__ import annotations

from pathlib import Path

from tessera_server.app import build_runtime
from tessera_server.config import load_settings
from threadpoolctl import threadpool_info


def test_blas_runs_single_threaded_once_a_runtime_is_built(tmp_path: Path) -> None:
    runtime = build_runtime(load_settings(database_url=f"sqlite:///{tmp_path / 't.db'}"))
    try:
        blas = [pool for pool in threadpool_info() if pool["user_api"] == "blas"]
        assert blas, "numpy links a BLAS library"
        assert all(pool["num_threads"] == 1 for pool in blas)
    finally:
        runtime.store.close()
