"""What can go wrong in the engine, in terms the API turns into problem responses."""

from __future__ import annotations


class EngineError(Exception):
    """Base of engine errors; `detail` is safe to show to the caller."""

    status = 400
    slug = "bad-request"
    title = "Bad request"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidInput(EngineError):
    status = 422
    slug = "invalid-input"
    title = "Invalid input"


class MissingScope(InvalidInput):
    slug = "missing-scope"
    title = "Missing scope"


class WrongIdKind(InvalidInput):
    slug = "wrong-id-kind"
    title = "Wrong kind of id"


class NotFound(EngineError):
    status = 404
    slug = "not-found"
    title = "Not found"


class Conflict(EngineError):
    status = 409
    slug = "conflict"
    title = "Conflict"


class PayloadTooLarge(EngineError):
    status = 413
    slug = "payload-too-large"
    title = "Payload too large"


class NotConfigured(InvalidInput):
    slug = "not-configured"
    title = "Capability not configured"
