-- Schema version 8: the index change log is written by the database itself. Each write to a
-- column the in-memory search indexes hold logs the row in `index_changes` under the tenant's
-- next generation and marks the tenant in `index_pending`; the store's write transaction
-- moves the pending tenants to that generation before it commits (`sqlite/changes.py`). So a
-- new write path cannot forget to invalidate the indexes: the log follows from the write.
-- Inserts log nothing: an index picks up new rows by walking the primary key.

CREATE TABLE index_pending (
    tenant_id   INTEGER PRIMARY KEY
);

CREATE TRIGGER turns_index_deleted AFTER DELETE ON turns BEGIN
    INSERT OR IGNORE INTO index_state (tenant_id, generation) VALUES (old.tenant_id, 0);
    INSERT OR IGNORE INTO index_pending (tenant_id) VALUES (old.tenant_id);
    INSERT INTO index_changes (tenant_id, generation, kind, tbl, pk)
        SELECT old.tenant_id, generation + 1, 'rows', 'turns', old.pk
        FROM index_state WHERE tenant_id = old.tenant_id;
END;

CREATE TRIGGER turns_index_rewritten AFTER UPDATE OF embedding, content ON turns
WHEN old.embedding IS NOT new.embedding OR old.content IS NOT new.content BEGIN
    INSERT OR IGNORE INTO index_state (tenant_id, generation) VALUES (new.tenant_id, 0);
    INSERT OR IGNORE INTO index_pending (tenant_id) VALUES (new.tenant_id);
    INSERT INTO index_changes (tenant_id, generation, kind, tbl, pk)
        SELECT new.tenant_id, generation + 1, 'rows', 'turns', new.pk
        FROM index_state WHERE tenant_id = new.tenant_id;
END;

CREATE TRIGGER episodes_index_deleted AFTER DELETE ON episodes BEGIN
    INSERT OR IGNORE INTO index_state (tenant_id, generation) VALUES (old.tenant_id, 0);
    INSERT OR IGNORE INTO index_pending (tenant_id) VALUES (old.tenant_id);
    INSERT INTO index_changes (tenant_id, generation, kind, tbl, pk)
        SELECT old.tenant_id, generation + 1, 'rows', 'episodes', old.pk
        FROM index_state WHERE tenant_id = old.tenant_id;
END;

CREATE TRIGGER episodes_index_rewritten AFTER UPDATE OF embedding, text ON episodes
WHEN old.embedding IS NOT new.embedding OR old.text IS NOT new.text BEGIN
    INSERT OR IGNORE INTO index_state (tenant_id, generation) VALUES (new.tenant_id, 0);
    INSERT OR IGNORE INTO index_pending (tenant_id) VALUES (new.tenant_id);
    INSERT INTO index_changes (tenant_id, generation, kind, tbl, pk)
        SELECT new.tenant_id, generation + 1, 'rows', 'episodes', new.pk
        FROM index_state WHERE tenant_id = new.tenant_id;
END;

CREATE TRIGGER episodes_index_masks AFTER UPDATE OF kind, pinned ON episodes
WHEN old.kind IS NOT new.kind OR old.pinned IS NOT new.pinned BEGIN
    INSERT OR IGNORE INTO index_state (tenant_id, generation) VALUES (new.tenant_id, 0);
    INSERT OR IGNORE INTO index_pending (tenant_id) VALUES (new.tenant_id);
    INSERT INTO index_changes (tenant_id, generation, kind, tbl, pk)
        SELECT new.tenant_id, generation + 1, 'masks', 'episodes', new.pk
        FROM index_state WHERE tenant_id = new.tenant_id;
END;

CREATE TRIGGER facts_index_deleted AFTER DELETE ON facts BEGIN
    INSERT OR IGNORE INTO index_state (tenant_id, generation) VALUES (old.tenant_id, 0);
    INSERT OR IGNORE INTO index_pending (tenant_id) VALUES (old.tenant_id);
    INSERT INTO index_changes (tenant_id, generation, kind, tbl, pk)
        SELECT old.tenant_id, generation + 1, 'rows', 'facts', old.pk
        FROM index_state WHERE tenant_id = old.tenant_id;
END;

CREATE TRIGGER facts_index_rewritten AFTER UPDATE OF embedding, text ON facts
WHEN old.embedding IS NOT new.embedding OR old.text IS NOT new.text BEGIN
    INSERT OR IGNORE INTO index_state (tenant_id, generation) VALUES (new.tenant_id, 0);
    INSERT OR IGNORE INTO index_pending (tenant_id) VALUES (new.tenant_id);
    INSERT INTO index_changes (tenant_id, generation, kind, tbl, pk)
        SELECT new.tenant_id, generation + 1, 'rows', 'facts', new.pk
        FROM index_state WHERE tenant_id = new.tenant_id;
END;

CREATE TRIGGER facts_index_masks AFTER UPDATE OF t_valid, t_invalid, t_created, t_expired ON facts
WHEN old.t_valid IS NOT new.t_valid OR old.t_invalid IS NOT new.t_invalid OR old.t_created IS NOT new.t_created OR old.t_expired IS NOT new.t_expired BEGIN
    INSERT OR IGNORE INTO index_state (tenant_id, generation) VALUES (new.tenant_id, 0);
    INSERT OR IGNORE INTO index_pending (tenant_id) VALUES (new.tenant_id);
    INSERT INTO index_changes (tenant_id, generation, kind, tbl, pk)
        SELECT new.tenant_id, generation + 1, 'masks', 'facts', new.pk
        FROM index_state WHERE tenant_id = new.tenant_id;
END;
