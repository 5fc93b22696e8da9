-- Schema version 3: job ids are never handed out twice, even after the rows of a wiped
-- scope are gone (a poller holding an old id must not see someone else's job).

CREATE TABLE jobs_v3 (
    pk           INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id    INTEGER NOT NULL,
    kind         TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    session_id   TEXT NOT NULL,
    status       TEXT NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    error        TEXT,
    lease_until  TEXT,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
INSERT INTO jobs_v3 SELECT pk, tenant_id, kind, user_id, session_id, status, attempts, error,
    lease_until, created_at, updated_at FROM jobs;
DROP TABLE jobs;
ALTER TABLE jobs_v3 RENAME TO jobs;
CREATE INDEX jobs_claim ON jobs (status, lease_until);
CREATE INDEX jobs_scope ON jobs (tenant_id, kind, user_id, session_id, status);
