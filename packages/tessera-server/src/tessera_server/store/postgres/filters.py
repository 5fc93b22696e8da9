"""How PostgreSQL reads a metadata key for filters, from the jsonb copy `meta` (the rule
itself: `store/sql/filters.py`)."""

from __future__ import annotations

from ..sql.filters import MetadataJson

METADATA_JSON = MetadataJson(
    type_of="jsonb_typeof({a}.meta -> {key})",
    classes={
        "number": "number",
        "boolean": "number",
        "string": "text",
        "object": "text",  # as its JSON text
        "array": "text",
    },
    number_of=(
        "(CASE {a}.meta -> {key} WHEN 'true'::jsonb THEN 1 WHEN 'false'::jsonb THEN 0 "
        "ELSE ({a}.meta ->> {key})::numeric END)"
    ),
    text_of='(({a}.meta ->> {key}) COLLATE "C")',  # bytewise, whatever the database's locale
    number_mark="{m}::numeric",
)
