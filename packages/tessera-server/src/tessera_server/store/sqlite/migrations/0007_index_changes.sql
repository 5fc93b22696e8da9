-- Schema version 7: which rows each generation changed, so that an in-memory index of a
-- scope can tell whether a change concerns it. `kind` 'masks': only mask columns changed (a
-- fact closed, an episode pinned), and an index holding the row re-reads it; 'rows': the row
-- was removed or its vector or text replaced, and an index holding it is rebuilt. A
-- generation logged with `tbl` '*' rebuilds every index of the tenant. Only the latest
-- generations are kept.

CREATE TABLE index_changes (
    tenant_id   INTEGER NOT NULL,
    generation  INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    tbl         TEXT NOT NULL,
    pk          INTEGER NOT NULL
);
CREATE INDEX index_changes_since ON index_changes (tenant_id, generation);
