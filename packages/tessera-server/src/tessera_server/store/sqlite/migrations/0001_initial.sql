-- Tessera embedded store, schema version 1.
-- Scope labels are stored as '' when absent so that uniqueness constraints hold.

CREATE TABLE tenants (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL
);

CREATE TABLE api_keys (
    id          INTEGER PRIMARY KEY,
    tenant_id   INTEGER NOT NULL REFERENCES tenants(id),
    prefix      TEXT NOT NULL UNIQUE,
    key_hash    TEXT NOT NULL UNIQUE,
    read_only   INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL,
    revoked_at  TEXT
);

CREATE TABLE turns (
    pk            INTEGER PRIMARY KEY,
    tenant_id     INTEGER NOT NULL,
    user_id       TEXT NOT NULL,
    session_id    TEXT NOT NULL,
    turn_id       TEXT NOT NULL,
    role          TEXT NOT NULL,
    content       TEXT NOT NULL,
    event_time    TEXT NOT NULL,
    metadata      TEXT NOT NULL,
    infer         INTEGER NOT NULL,
    consolidated  INTEGER NOT NULL DEFAULT 0,
    embedding     BLOB,
    created_at    TEXT NOT NULL,
    UNIQUE (tenant_id, user_id, session_id, turn_id)
);
CREATE INDEX turns_pending ON turns (tenant_id, user_id, session_id, consolidated, infer);

-- Episodes and their subtypes: kind is episode | note | procedure | resource.
CREATE TABLE episodes (
    pk            INTEGER PRIMARY KEY,
    id            TEXT NOT NULL UNIQUE,
    tenant_id     INTEGER NOT NULL,
    user_id       TEXT NOT NULL,
    session_id    TEXT NOT NULL,
    kind          TEXT NOT NULL,
    text          TEXT NOT NULL,
    role          TEXT NOT NULL,
    event_time    TEXT NOT NULL,
    importance    REAL NOT NULL,
    metadata      TEXT NOT NULL,
    pinned        INTEGER NOT NULL DEFAULT 0,
    attrs         TEXT NOT NULL DEFAULT '{}',
    embedding     BLOB,
    created_at    TEXT NOT NULL
);
CREATE INDEX episodes_scope ON episodes (tenant_id, user_id, session_id, kind);
CREATE INDEX episodes_page ON episodes (tenant_id, user_id, created_at, id);

CREATE TABLE episode_sources (
    episode_pk  INTEGER NOT NULL REFERENCES episodes(pk) ON DELETE CASCADE,
    turn_pk     INTEGER NOT NULL,
    PRIMARY KEY (episode_pk, turn_pk)
);
CREATE INDEX episode_sources_turn ON episode_sources (turn_pk);

CREATE TABLE facts (
    pk            INTEGER PRIMARY KEY,
    id            TEXT NOT NULL UNIQUE,
    tenant_id     INTEGER NOT NULL,
    user_id       TEXT NOT NULL,
    session_id    TEXT NOT NULL,
    subject       TEXT NOT NULL,
    relation      TEXT NOT NULL,
    object        TEXT NOT NULL,
    text          TEXT NOT NULL,
    role          TEXT NOT NULL,
    confidence    REAL NOT NULL,
    importance    REAL NOT NULL,
    functional    INTEGER NOT NULL,
    t_valid       TEXT NOT NULL,
    t_invalid     TEXT,
    t_created     TEXT NOT NULL,
    t_expired     TEXT,
    superseded_by TEXT,
    episode_id    TEXT,
    metadata      TEXT NOT NULL,
    embedding     BLOB,
    created_at    TEXT NOT NULL
);
CREATE INDEX facts_scope ON facts (tenant_id, user_id, session_id);
CREATE INDEX facts_key ON facts (tenant_id, user_id, subject, relation);
CREATE INDEX facts_page ON facts (tenant_id, user_id, created_at, id);

CREATE TABLE fact_sources (
    fact_pk  INTEGER NOT NULL REFERENCES facts(pk) ON DELETE CASCADE,
    turn_pk  INTEGER NOT NULL,
    PRIMARY KEY (fact_pk, turn_pk)
);
CREATE INDEX fact_sources_turn ON fact_sources (turn_pk);

CREATE TABLE foresight (
    pk          INTEGER PRIMARY KEY,
    id          TEXT NOT NULL UNIQUE,
    tenant_id   INTEGER NOT NULL,
    user_id     TEXT NOT NULL,
    session_id  TEXT NOT NULL,
    kind        TEXT NOT NULL,
    content     TEXT NOT NULL,
    due_at      TEXT,
    expires_at  TEXT,
    episode_pk  INTEGER REFERENCES episodes(pk) ON DELETE CASCADE,
    embedding   BLOB,
    created_at  TEXT NOT NULL
);
CREATE INDEX foresight_scope ON foresight (tenant_id, user_id, session_id);

CREATE TABLE foresight_sources (
    foresight_pk INTEGER NOT NULL REFERENCES foresight(pk) ON DELETE CASCADE,
    turn_pk      INTEGER NOT NULL,
    PRIMARY KEY (foresight_pk, turn_pk)
);
CREATE INDEX foresight_sources_turn ON foresight_sources (turn_pk);

CREATE TABLE portraits (
    tenant_id   INTEGER NOT NULL,
    user_id     TEXT NOT NULL,
    data        TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, user_id)
);

CREATE TABLE panels (
    pk          INTEGER PRIMARY KEY,
    tenant_id   INTEGER NOT NULL,
    user_id     TEXT NOT NULL,
    level       INTEGER NOT NULL,
    summary     TEXT NOT NULL,
    members     TEXT NOT NULL,
    centroid    BLOB NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX panels_scope ON panels (tenant_id, user_id);

CREATE TABLE jobs (
    pk           INTEGER PRIMARY KEY,
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
CREATE INDEX jobs_claim ON jobs (status, lease_until);
CREATE INDEX jobs_scope ON jobs (tenant_id, kind, user_id, session_id, status);

-- Dense-index bookkeeping: bumped whenever vectors are removed or replaced, so that
-- in-memory indexes know to rebuild rather than append.
CREATE TABLE index_state (
    tenant_id   INTEGER PRIMARY KEY,
    generation  INTEGER NOT NULL
);

-- Full-text indexes over the searchable text (external content, kept in sync by triggers).
CREATE VIRTUAL TABLE episodes_fts USING fts5(
    text, content='episodes', content_rowid='pk', tokenize='porter unicode61 remove_diacritics 2'
);
CREATE TRIGGER episodes_ai AFTER INSERT ON episodes BEGIN
    INSERT INTO episodes_fts(rowid, text) VALUES (new.pk, new.text);
END;
CREATE TRIGGER episodes_ad AFTER DELETE ON episodes BEGIN
    INSERT INTO episodes_fts(episodes_fts, rowid, text) VALUES ('delete', old.pk, old.text);
END;
CREATE TRIGGER episodes_au AFTER UPDATE OF text ON episodes BEGIN
    INSERT INTO episodes_fts(episodes_fts, rowid, text) VALUES ('delete', old.pk, old.text);
    INSERT INTO episodes_fts(rowid, text) VALUES (new.pk, new.text);
END;

CREATE VIRTUAL TABLE facts_fts USING fts5(
    text, content='facts', content_rowid='pk', tokenize='porter unicode61 remove_diacritics 2'
);
CREATE TRIGGER facts_ai AFTER INSERT ON facts BEGIN
    INSERT INTO facts_fts(rowid, text) VALUES (new.pk, new.text);
END;
CREATE TRIGGER facts_ad AFTER DELETE ON facts BEGIN
    INSERT INTO facts_fts(facts_fts, rowid, text) VALUES ('delete', old.pk, old.text);
END;
CREATE TRIGGER facts_au AFTER UPDATE OF text ON facts BEGIN
    INSERT INTO facts_fts(facts_fts, rowid, text) VALUES ('delete', old.pk, old.text);
    INSERT INTO facts_fts(rowid, text) VALUES (new.pk, new.text);
END;
