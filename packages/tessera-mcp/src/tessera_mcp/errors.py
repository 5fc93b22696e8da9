"""Turn failures into one or two sentences an agent (or a person) can act on.

Nothing here ever includes a traceback or the API key.
"""

from __future__ import annotations

import tessera_memory

from .config import Settings

LOGIN_HINT = (
    "Ask the user for their Tessera API key (it starts with `tsk_live_`; whoever runs the "
    "Tessera service creates one with `tessera keys create --tenant <name>`). Then run "
    "`tessera-mcp login <KEY>` in a terminal, or ask the user to run `tessera-mcp login` "
    "themselves to type it without it being shown. It takes effect on the next memory call; "
    "no restart is needed."
)


def no_key_message(settings: Settings) -> str:
    where = str(settings.credentials_path)
    problem = f" ({settings.credentials_problem})" if settings.credentials_problem else ""
    return (
        "Tessera memory is not set up yet: no API key was found in TESSERA_API_KEY or in "
        f"{where}{problem}. {LOGIN_HINT}"
    )


class ToolFailure(Exception):
    """An anticipated failure whose message is safe to show the agent as is."""


def _scrub(text: str, settings: Settings | None, limit: int | None = 300) -> str:
    """Remove the key, flatten whitespace and (for text from elsewhere) bound the length."""
    if settings is not None and settings.api_key:
        text = text.replace(settings.api_key, "***")
    text = " ".join(text.split())
    if limit is None or len(text) <= limit:
        return text
    return text[: limit - 3] + "..."


def _detail(exc: tessera_memory.APIStatusError) -> str:
    problem = getattr(exc, "problem", None)
    detail = getattr(problem, "detail", None) or getattr(problem, "title", None)
    return str(detail) if detail else ""


def describe_error(exc: BaseException, settings: Settings | None) -> str:
    """A short message for a failed call to the service."""
    url = settings.base_url if settings is not None else "the configured address"
    if isinstance(exc, ToolFailure):
        return _scrub(str(exc), settings, limit=None)
    if isinstance(exc, tessera_memory.APIStatusError):
        status = getattr(exc, "status_code", None)
        detail = _scrub(_detail(exc), settings)
        request_id = getattr(exc, "request_id", None)
        ref = f" (request {request_id})" if request_id else ""
        said = f": {detail}" if detail else ""
        if isinstance(exc, tessera_memory.AuthenticationError):
            return (
                f"The Tessera service at {url} rejected the API key (401). The key may have been "
                f"revoked or belong to another service. {LOGIN_HINT}"
            )
        if isinstance(exc, tessera_memory.PermissionDeniedError):
            return (
                f"This Tessera API key is not allowed to do that (403){said}. A read-only key "
                "can recall but not save; ask the user for a key with write access."
            )
        if isinstance(exc, tessera_memory.RateLimitError):
            return "The Tessera service is rate limiting this key (429). Wait a moment and retry."
        if isinstance(exc, tessera_memory.InternalServerError):
            return (
                f"The Tessera service at {url} failed with an internal error ({status}){ref}. "
                "Retry later; if it persists, the service log has the details."
            )
        if status == 404:
            return (
                f"The Tessera service at {url} answered 404{said}. Check that TESSERA_BASE_URL "
                "points at a Tessera service."
            )
        if status == 422:
            return f"The Tessera service refused the request (422){said}."
        return f"The Tessera service answered {status}{said}{ref}."
    if isinstance(exc, tessera_memory.APITimeoutError):
        return (
            f"The Tessera service at {url} did not answer in time. It may be overloaded or "
            "starting up; retry in a moment."
        )
    if isinstance(exc, tessera_memory.APIConnectionError):
        return (
            f"Cannot reach the Tessera service at {url}. Is it running? Start one with "
            "`tessera serve`, or point TESSERA_BASE_URL (or `tessera-mcp login --base-url`) at "
            "yours."
        )
    if isinstance(exc, tessera_memory.TesseraError):
        return f"Tessera memory error: {_scrub(str(exc), settings)}"
    return f"Tessera memory failed unexpectedly ({type(exc).__name__})."
