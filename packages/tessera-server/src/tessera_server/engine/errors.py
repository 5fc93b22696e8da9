"""What can go wrong in the engine, in terms the API turns into problem responses."""

from __future__ import annotations


class EngineError(Exception):
    """Base of engine errors; `detail` is safe to show to the caller."""

    status, slug, title = 400, "bad-request", "Bad request"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidInput(EngineError):
    status, slug, title = 422, "invalid-input", "Invalid input"


class MissingScope(InvalidInput):
    slug, title = "missing-scope", "Missing scope"


class WrongIdKind(InvalidInput):
    slug, title = "wrong-id-kind", "Wrong kind of id"


class NotFound(EngineError):
    status, slug, title = 404, "not-found", "Not found"


class Conflict(EngineError):
    status, slug, title = 409, "conflict", "Conflict"


class PayloadTooLarge(EngineError):
    status, slug, title = 413, "payload-too-large", "Payload too large"


class NotConfigured(InvalidInput):
    slug, title = "not-configured", "Capability not configured"
