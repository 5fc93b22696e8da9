"""How SQLite reads a metadata key for filters (the rule itself: `store/sql/filters.py`)."""

from __future__ import annotations

from ..sql.filters import MetadataJson

_VALUE = "json_extract({a}.metadata, {key})"

METADATA_JSON = MetadataJson(
    type_of="json_type({a}.metadata, {key})",
    classes={
        "integer": "number",
        "real": "number",
        "true": "number",  # json_extract reads true as 1, false as 0
        "false": "number",
        "text": "text",
        "object": "text",  # as its JSON text
        "array": "text",
    },
    number_of=_VALUE,
    text_of=_VALUE,  # SQLite compares text bytewise (BINARY)
    key_path='$."{key}"',
)
