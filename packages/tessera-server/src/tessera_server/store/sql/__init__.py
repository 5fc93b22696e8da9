"""Persistence written once for every SQL backend, one module per aggregate.

Each mixin holds the statements of one aggregate (keys, turns, episodes, facts, profile,
forgetting, export) in portable SQL, built with the backend's `Codec` (placeholders, value
spellings). A backend folder supplies connections (`base.SqlBase`) and what is truly its own:
search arms, job claiming, migrations, and the locks PostgreSQL's many writers need, which
the mixins call through the `_hold_*` hooks (no-ops where one writer is the rule).
"""
