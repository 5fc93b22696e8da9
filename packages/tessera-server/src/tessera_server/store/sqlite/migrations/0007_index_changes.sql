-- Schema version 7: which rows a generation changed, when only their mask columns changed
-- (a fact closed, an episode pinned). An in-memory index patches those rows instead of
-- rebuilding a whole scope; a generation logged as '*' (rows removed, vectors or texts
-- replaced) still means a rebuild. Only the latest generations are kept.

CREATE TABLE index_changes (
    tenant_id   INTEGER NOT NULL,
    generation  INTEGER NOT NULL,
    tbl         TEXT NOT NULL,
    pk          INTEGER NOT NULL
);
CREATE INDEX index_changes_since ON index_changes (tenant_id, generation);
