-- Schema version 8: the index change log is written by the database itself. Each write to a
-- column the in-memory search indexes hold logs the row under the tenant's next generation
-- and marks the tenant pending; the store's write transaction moves the pending tenants to
-- that generation before it commits (`sqlite/changes.py`). So a new write path cannot forget
-- to invalidate the indexes: the log follows from the write. Inserts log nothing: an index
-- picks up new rows by walking the primary key. Kind 'rows': the row was deleted or its
-- vector or text replaced; 'masks': only columns the indexes mask by changed.

CREATE TABLE index_pending (
    tenant_id   INTEGER PRIMARY KEY
);

-- Writing to this view logs one changed row (the triggers below all write here).
CREATE VIEW index_log (tenant_id, kind, tbl, pk) AS SELECT 0, '', '', 0 WHERE 0;
CREATE TRIGGER index_log_write INSTEAD OF INSERT ON index_log BEGIN
    INSERT OR IGNORE INTO index_state (tenant_id, generation) VALUES (new.tenant_id, 0);
    INSERT OR IGNORE INTO index_pending (tenant_id) VALUES (new.tenant_id);
    INSERT INTO index_changes (tenant_id, generation, kind, tbl, pk)
        SELECT new.tenant_id, generation + 1, new.kind, new.tbl, new.pk
        FROM index_state WHERE tenant_id = new.tenant_id;
END;

CREATE TRIGGER turns_index_deleted AFTER DELETE ON turns BEGIN
    INSERT INTO index_log VALUES (old.tenant_id, 'rows', 'turns', old.pk);
END;
CREATE TRIGGER turns_index_rewritten AFTER UPDATE OF embedding, content ON turns
WHEN old.embedding IS NOT new.embedding OR old.content IS NOT new.content BEGIN
    INSERT INTO index_log VALUES (new.tenant_id, 'rows', 'turns', new.pk);
END;

CREATE TRIGGER episodes_index_deleted AFTER DELETE ON episodes BEGIN
    INSERT INTO index_log VALUES (old.tenant_id, 'rows', 'episodes', old.pk);
END;
CREATE TRIGGER episodes_index_rewritten AFTER UPDATE OF embedding, text ON episodes
WHEN old.embedding IS NOT new.embedding OR old.text IS NOT new.text BEGIN
    INSERT INTO index_log VALUES (new.tenant_id, 'rows', 'episodes', new.pk);
END;
CREATE TRIGGER episodes_index_masks AFTER UPDATE OF kind, pinned ON episodes
WHEN old.kind IS NOT new.kind OR old.pinned IS NOT new.pinned BEGIN
    INSERT INTO index_log VALUES (new.tenant_id, 'masks', 'episodes', new.pk);
END;

CREATE TRIGGER facts_index_deleted AFTER DELETE ON facts BEGIN
    INSERT INTO index_log VALUES (old.tenant_id, 'rows', 'facts', old.pk);
END;
CREATE TRIGGER facts_index_rewritten AFTER UPDATE OF embedding, text ON facts
WHEN old.embedding IS NOT new.embedding OR old.text IS NOT new.text BEGIN
    INSERT INTO index_log VALUES (new.tenant_id, 'rows', 'facts', new.pk);
END;
CREATE TRIGGER facts_index_masks AFTER UPDATE OF t_valid, t_invalid, t_created, t_expired ON facts
WHEN old.t_valid IS NOT new.t_valid OR old.t_invalid IS NOT new.t_invalid OR old.t_created IS NOT new.t_created OR old.t_expired IS NOT new.t_expired BEGIN
    INSERT INTO index_log VALUES (new.tenant_id, 'masks', 'facts', new.pk);
END;
