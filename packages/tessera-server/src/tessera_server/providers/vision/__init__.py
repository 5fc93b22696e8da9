"""Image captioning through an OpenAI-compatible vision endpoint."""

from __future__ import annotations

import base64
from typing import Protocol

import httpx


class CaptionError(Exception):
    """The vision model could not caption the image."""


class Captioner(Protocol):
    def caption(
        self, *, image_url: str | None = None, data: bytes | None = None, mime: str = ""
    ) -> str: ...


PROMPT = (
    "Describe this image for a memory index in one or two plain sentences: who or what is "
    "in it, where, and any visible text."
)


class OpenAICompatibleCaptioner:
    def __init__(self, base_url: str, api_key: str, model: str, timeout: float = 60.0) -> None:
        self._url = base_url.rstrip("/") + "/chat/completions"
        self._model = model
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(timeout=timeout, headers=headers)

    def caption(
        self, *, image_url: str | None = None, data: bytes | None = None, mime: str = ""
    ) -> str:
        if data is not None:
            image_url = f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
        if not image_url:
            raise CaptionError("no image given")
        body = {
            "model": self._model,
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": PROMPT},
                        {"type": "image_url", "image_url": {"url": image_url}},
                    ],
                }
            ],
            "temperature": 0,
        }
        try:
            response = self._client.post(self._url, json=body)
            response.raise_for_status()
            text = response.json()["choices"][0]["message"]["content"]
        except (httpx.HTTPError, KeyError, IndexError, TypeError, ValueError) as exc:
            raise CaptionError(f"{type(exc).__name__} from the vision model") from exc
        if not isinstance(text, str) or not text.strip():
            raise CaptionError("the vision model returned an empty caption")
        return text.strip()
