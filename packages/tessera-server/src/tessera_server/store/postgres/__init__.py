"""The PostgreSQL + pgvector backend (`TESSERA_DATABASE_URL=postgresql://...`).

Needs the `postgres` extra (psycopg 3 and psycopg-pool); see docs/deployment.md.
"""
