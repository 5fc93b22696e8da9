"""Procedures (learned how-tos) and resources (described blobs): episode subtypes."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..providers.vision import CaptionError
from . import image_text
from .clock import utcnow
from .errors import InvalidInput, NotConfigured, NotFound
from .ids import expect, new_episode_id
from .records import EpisodeKind, EpisodePool, EpisodeRecord, Scope
from .runtime import Runtime
from .scope import owned_by

MAX_STEPS = 50


@dataclass
class Recalled:
    episode: EpisodeRecord
    similarity: float


def _check_text(value: str, name: str, limit: int) -> str:
    if not value.strip():
        raise InvalidInput(f"`{name}` is empty")
    if len(value) > limit:
        raise InvalidInput(f"`{name}` is longer than {limit} characters")
    return value.strip()


def _check_k(k: int, limit: int) -> int:
    if k < 1 or k > limit:
        raise InvalidInput(f"`k` must be between 1 and {limit}")
    return k


def remember_procedure(
    runtime: Runtime, scope: Scope, trigger: str, steps: list[str], success: str
) -> EpisodeRecord:
    limit = runtime.settings.max_content_chars
    trigger = _check_text(trigger, "trigger", limit)
    success = _check_text(success, "success", limit)
    if not steps or len(steps) > MAX_STEPS:
        raise InvalidInput(f"`steps` needs 1 to {MAX_STEPS} steps")
    steps = [_check_text(step, "steps[]", limit) for step in steps]
    attrs = {"steps": steps, "success": success, "uses": 0, "last_outcome": None}
    # A learned skill is pinned: kept until someone deletes it.
    return _store(runtime, scope, "procedure", trigger, "system", 0.8, attrs, pinned=True)


def _store(
    runtime: Runtime,
    scope: Scope,
    kind: EpisodeKind,
    text: str,
    role: str,
    importance: float,
    attrs: dict[str, Any],
    pinned: bool = False,
) -> EpisodeRecord:
    """Store a procedure or resource: an episode of that kind, made now, found by its text."""
    now = utcnow()
    episode = EpisodeRecord(
        id=new_episode_id(),
        **owned_by(scope),
        kind=kind,
        text=text,
        role=role,
        event_time=now,
        importance=importance,
        metadata={},
        created_at=now,
        attrs=attrs,
        embedding=runtime.embedder.embed([text])[0],
        pinned=pinned,
    )
    return runtime.store.insert_episode(episode)


def _recall(
    runtime: Runtime, scope: Scope, text: str, kind: str, k: int, min_similarity: float | None
) -> list[Recalled]:
    qvec = runtime.embedder.embed([text])[0]
    ranked = runtime.store.dense_episodes(EpisodePool(scope, (kind,)), qvec, k)
    if min_similarity is not None:
        ranked = [(i, s) for i, s in ranked if s >= min_similarity]
    episodes = {e.id: e for e in runtime.store.get_episodes(scope, [i for i, _ in ranked])}
    return [Recalled(episodes[i], s) for i, s in ranked if i in episodes]


def recall_procedures(
    runtime: Runtime, scope: Scope, task: str, k: int, min_similarity: float | None
) -> list[Recalled]:
    task = _check_text(task, "task", runtime.settings.max_content_chars)
    k = _check_k(k, runtime.settings.max_top_k)
    if min_similarity is not None and not (
        -1.0 <= min_similarity <= 1.0 and math.isfinite(min_similarity)
    ):
        raise InvalidInput("`min_similarity` must be between -1 and 1")
    return _recall(runtime, scope, task, "procedure", k, min_similarity)


def record_outcome(runtime: Runtime, scope: Scope, item_id: str, success: bool) -> EpisodeRecord:
    expect(item_id, "episode")
    store = runtime.store
    with store.transaction():
        found = [e for e in store.get_episodes(scope, [item_id]) if e.kind == "procedure"]
        if not found:
            raise NotFound("no such procedure in this scope")
        episode = found[0]
        attrs: dict[str, Any] = dict(episode.attrs)
        attrs["uses"] = int(attrs.get("uses", 0)) + 1
        attrs["last_outcome"] = success
        store.update_attrs(scope, item_id, attrs)
        episode.attrs = attrs
    return episode


def remember_resource(
    runtime: Runtime,
    scope: Scope,
    *,
    blob_ref: str,
    mime: str,
    caption: str | None,
    image_url: str | None,
    data: bytes | None = None,
    file_name: str | None = None,
) -> EpisodeRecord:
    """Keep a blob handle with searchable text: the caller's caption, else the vision
    model's, else (an upload with no vision model) what is known offline plus OCR."""
    blob_ref = _check_text(blob_ref, "blob_ref", 2048)
    mime = _check_text(mime, "mime", 255)
    attrs: dict[str, Any] = {"blob_ref": blob_ref, "mime": mime}
    if image_url:
        attrs["image_url"] = image_url[:2048]
    read_later = False
    if data is not None:
        # Hostile bytes stop here, nothing stored; the thumbnail stays when the bytes go.
        facts, attrs["thumbnail"] = image_text.inspect(runtime, data)
    if caption is not None and caption.strip():
        text = _check_text(caption, "caption", runtime.settings.max_content_chars)
    elif runtime.captioner is not None and (image_url or data is not None):
        try:
            text = runtime.captioner.caption(image_url=image_url, data=data, mime=mime)
        except CaptionError as exc:
            raise InvalidInput(f"the image could not be captioned: {exc}") from None
    elif data is not None:
        name = image_text.clean_file_name(file_name)
        text = image_text.describe(facts, name, None)
        if runtime.reader is not None:
            attrs.update(image_text.pending_attrs(data, facts, name))
            read_later = True
        else:
            attrs["ocr"] = image_text.OFF
    elif image_url:
        raise NotConfigured(
            "no caption was given and no vision model is configured to describe an image "
            "by URL (Tessera never fetches it); pass `caption`, upload the file to "
            "/v1/resources/file, or set TESSERA_VISION_BASE_URL and TESSERA_VISION_MODEL"
        )
    else:
        raise InvalidInput("give a `caption`, an `image_url` or an uploaded file")
    stored = _store(runtime, scope, "resource", text, "user", 0.5, attrs)
    if read_later:
        runtime.store.enqueue_job(scope, image_text.JOB_KIND, stored.created_at)
    return stored


def recall_resources(runtime: Runtime, scope: Scope, query: str, k: int) -> list[Recalled]:
    query = _check_text(query, "query", runtime.settings.max_content_chars)
    k = _check_k(k, runtime.settings.max_top_k)
    return _recall(runtime, scope, query, "resource", k, None)
