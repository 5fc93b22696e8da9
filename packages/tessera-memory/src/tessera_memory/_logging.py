"""The ``tessera_memory`` logger and the ``TESSERA_LOG`` switch.

What is logged: method, URL (path and query), status, request id, retry decisions. What is never
logged: the API key, the ``Authorization`` header (or any header), request and response bodies.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import TextIO

logger = logging.getLogger("tessera_memory")

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO}


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at emit time (so test capture and redirects work)."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(logging.Formatter("[%(asctime)s %(levelname)s %(name)s] %(message)s"))

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


def configure_from_env() -> None:
    """Honour ``TESSERA_LOG=debug|info``: attach one stderr handler to the SDK's logger."""
    level = _LEVELS.get(os.environ.get("TESSERA_LOG", "").strip().lower())
    if level is None:
        return
    logger.setLevel(level)
    if not any(isinstance(h, _StderrHandler) for h in logger.handlers):
        logger.addHandler(_StderrHandler())
