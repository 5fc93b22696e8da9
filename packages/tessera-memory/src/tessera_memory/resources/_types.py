"""Argument types shared by the resources."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from ..models import BatchMessage, FilterClause

Role = Literal["system", "user", "assistant"]
MemoryType = Literal["episode", "fact"]
Timestamp = datetime | str
"""A datetime (timezone-aware preferred) or an ISO 8601 string."""
Filter = FilterClause | Mapping[str, Any]
"""A filter clause: a :class:`FilterClause` or a mapping with ``field``, ``op`` and ``value``."""
Message = BatchMessage | Mapping[str, Any]
"""A batch message: a :class:`BatchMessage` or a mapping with ``role``, ``content``."""
Metadata = Mapping[str, Any]
