-- Schema version 2: turns become searchable on their own, so that an episode can be found
-- through the one turn inside it that matches a query.

CREATE VIRTUAL TABLE turns_fts USING fts5(
    content, content='turns', content_rowid='pk', tokenize='porter unicode61 remove_diacritics 2'
);
INSERT INTO turns_fts(rowid, content) SELECT pk, content FROM turns;
CREATE TRIGGER turns_ai AFTER INSERT ON turns BEGIN
    INSERT INTO turns_fts(rowid, content) VALUES (new.pk, new.content);
END;
CREATE TRIGGER turns_ad AFTER DELETE ON turns BEGIN
    INSERT INTO turns_fts(turns_fts, rowid, content) VALUES ('delete', old.pk, old.content);
END;
