"""Persistence written once for every SQL backend, one module per aggregate.

Each mixin holds the statements of one aggregate (keys, turns, episodes, facts, profile,
forgetting, listing, export, jobs, search) in portable SQL, built with the backend's `Codec`
(placeholders, value spellings) over the record tables of `store/rows.py`. Filter and
time-travel semantics are compiled here once (`filters.py`), and so is the migration runner.
A backend folder supplies what is truly its own: connections (`base.SqlBase`), how it reads a
metadata key, its two search rankers, how it runs a migration script, and the locks
PostgreSQL's many writers need, which the mixins call through the `_hold_*` hooks (no-ops where
one writer is the rule).
"""
