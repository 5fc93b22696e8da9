"""How errors are named in the log: by class and place, never by message.

An exception's message may quote stored text or a request's values (a driver's error repeats
the row it refused; a parser names the token it choked on), and the log must hold no memory
content. A traceback is also unbounded: a RecursionError's stack is a thousand frames. So an
unexpected error is one line: its class and the last few frames, which say where to look.
"""

from __future__ import annotations

import traceback

FRAMES = 6


def where(exc: BaseException, frames: int = FRAMES) -> str:
    """The innermost frames of the exception's traceback, innermost first, on one line."""
    stack = traceback.extract_tb(exc.__traceback__)[-frames:]
    return (
        " <- ".join(
            f"{frame.filename.rsplit('/', 1)[-1]}:{frame.lineno} {frame.name}"
            for frame in reversed(stack)
        )
        or "-"
    )
