-- Schema version 5: search ranks words with per-scope in-memory BM25 postings (dense.py,
-- lexical.py) and no longer reads the FTS5 indexes, so they go, with the triggers that
-- kept them in step and cost every insert and delete of a turn, episode or fact an index
-- update. Dropping a virtual table also drops its shadow tables.

DROP TRIGGER IF EXISTS turns_ai;
DROP TRIGGER IF EXISTS turns_ad;
DROP TRIGGER IF EXISTS episodes_ai;
DROP TRIGGER IF EXISTS episodes_ad;
DROP TRIGGER IF EXISTS episodes_au;
DROP TRIGGER IF EXISTS facts_ai;
DROP TRIGGER IF EXISTS facts_ad;
DROP TRIGGER IF EXISTS facts_au;
DROP TABLE IF EXISTS turns_fts;
DROP TABLE IF EXISTS episodes_fts;
DROP TABLE IF EXISTS facts_fts;
