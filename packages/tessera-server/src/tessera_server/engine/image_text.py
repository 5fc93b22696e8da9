"""Searchable text for an uploaded image when no vision model is configured.

At upload, what is known without a model (file name, format, size, dominant colours, EXIF
date and camera) becomes the resource's text at once, so it is findable immediately. Reading
the text in the image (OCR) takes seconds on a small CPU, so it runs in the job worker: the
image bytes wait in the resource's attributes (`ocr: pending`) until a `read_image_text`
job for the scope reads them, rewrites the text and its vector, and drops the bytes. A
caller's caption, or a configured vision model's, is never replaced.
"""

from __future__ import annotations

import base64
import logging
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any

from ..providers.vision.image import (
    ImageFacts,
    ImageTooLarge,
    UnreadableImage,
    open_image,
    thumbnail_data_url,
)
from ..providers.vision.ocr import OCRError
from .errors import InvalidInput, PayloadTooLarge
from .records import EpisodeRecord, Scope
from .runtime import Runtime

log = logging.getLogger("tessera.ocr")

JOB_KIND = "read_image_text"
PENDING, DONE, FAILED, OFF = "pending", "done", "failed", "off"
_BYTES = "image_b64"


def clean_file_name(name: str | None) -> str | None:
    """The base name of an uploaded file, printable and at most 255 characters."""
    if not name:
        return None
    base = PureWindowsPath(PurePosixPath(name).name).name
    base = "".join(ch for ch in base if ch.isprintable()).strip()
    return base[:255] or None


def inspect(runtime: Runtime, data: bytes) -> tuple[ImageFacts, str]:
    """The image's facts and a small JPEG `data:` URL of it (kept when the bytes go), from
    one decode; or the problem a caller can fix (422 unreadable, 413 too big)."""
    try:
        image, facts = open_image(data, runtime.settings.max_image_pixels)
    except ImageTooLarge as exc:
        raise PayloadTooLarge(str(exc)) from None
    except UnreadableImage as exc:
        raise InvalidInput(f"the upload is not a readable image: {exc}") from None
    return facts, thumbnail_data_url(image)


def describe(facts: ImageFacts, file_name: str | None, lines: list[str] | None) -> str:
    """One searchable text: what the image is, then the text read in it (if read yet)."""
    parts = [f"Image {file_name}" if file_name else "Image"]
    parts[0] += f": {facts.format} {facts.width}x{facts.height} pixels"
    if facts.colours:
        parts.append("colours " + ", ".join(facts.colours))
    if facts.taken_at:
        parts.append(f"taken {facts.taken_at}")
    if facts.camera:
        parts.append(f"camera {facts.camera}")
    head = "; ".join(parts) + "."
    if lines is None:
        return head
    if not lines:
        return head + " No text was read in it."
    return head + " Text in the image:\n" + "\n".join(lines)


def pending_attrs(data: bytes, facts: ImageFacts, file_name: str | None) -> dict[str, Any]:
    """Attributes of a resource whose text the worker is still to read."""
    return {
        "ocr": PENDING,
        _BYTES: base64.b64encode(data).decode("ascii"),
        "image": {
            "format": facts.format,
            "width": facts.width,
            "height": facts.height,
            "colours": facts.colours,
            "taken_at": facts.taken_at,
            "camera": facts.camera,
            "file_name": file_name,
        },
    }


def _facts_of(attrs: dict[str, Any]) -> tuple[ImageFacts, str | None]:
    image = attrs.get("image") or {}
    facts = ImageFacts(
        str(image.get("format", "")),
        int(image.get("width", 0)),
        int(image.get("height", 0)),
        list(image.get("colours") or []),
        image.get("taken_at"),
        image.get("camera"),
    )
    return facts, image.get("file_name")


def _read_one(runtime: Runtime, episode: EpisodeRecord) -> EpisodeRecord:
    attrs = dict(episode.attrs)
    facts, file_name = _facts_of(attrs)
    data = base64.b64decode(attrs.pop(_BYTES, "") or b"")
    lines: list[str] | None
    try:
        image, _ = open_image(data, runtime.settings.max_image_pixels)
        if runtime.reader is None:
            raise OCRError("no text reader")
        lines = runtime.reader.read(image)
        attrs["ocr"] = DONE
    except (UnreadableImage, ImageTooLarge, OCRError) as exc:
        # Honest: the resource keeps what is known about the image, and says OCR failed.
        log.warning("OCR of %s failed: %s", episode.id, type(exc).__name__)
        lines, attrs["ocr"] = None, FAILED
    text = describe(facts, file_name, lines)[: runtime.settings.max_content_chars]
    episode.attrs, episode.text = attrs, text
    episode.embedding = runtime.embedder.embed([text])[0]
    return episode


def read_pending(runtime: Runtime, scope: Scope) -> int:
    """Read the text of every resource in `scope` still waiting for OCR; returns how many."""
    store = runtime.store
    done = 0
    for episode in store.episodes_in_scope(scope, ("resource",)):
        if episode.attrs.get("ocr") != PENDING:
            continue
        store.update_episode(_read_one(runtime, episode))
        done += 1
    return done
