"""tessera-mcp: long-term memory for coding agents, through the Tessera memory service."""

from __future__ import annotations

__version__ = "0.2.0"

__all__ = ["__version__"]
