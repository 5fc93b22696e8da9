"""Chat models that answer with JSON; any OpenAI-compatible endpoint."""

from __future__ import annotations

import json
from typing import Any, Protocol

import httpx


class ChatModelError(Exception):
    """The model could not be reached or did not answer with the JSON asked for."""


class ChatModel(Protocol):
    model: str

    def complete_json(
        self, system: str, user: str, schema_name: str, schema: dict[str, Any]
    ) -> dict[str, Any]: ...


class OpenAICompatibleChat:
    """`POST {base_url}/chat/completions` with a JSON-schema response format."""

    def __init__(self, base_url: str, api_key: str, model: str, timeout: float) -> None:
        self.model = model
        self._url = base_url.rstrip("/") + "/chat/completions"
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(timeout=timeout, headers=headers)

    def complete_json(
        self, system: str, user: str, schema_name: str, schema: dict[str, Any]
    ) -> dict[str, Any]:
        body = {
            "model": self.model,
            "messages": [
                {"role": "system", "content": system},
                {"role": "user", "content": user},
            ],
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": schema_name, "schema": schema, "strict": True},
            },
            "temperature": 0,
        }
        try:
            response = self._client.post(self._url, json=body)
            response.raise_for_status()
            content = response.json()["choices"][0]["message"]["content"]
            parsed = json.loads(content)
        except (httpx.HTTPError, KeyError, IndexError, TypeError, ValueError) as exc:
            raise ChatModelError(f"{type(exc).__name__} from the chat model") from exc
        if not isinstance(parsed, dict):
            raise ChatModelError("the chat model answered with JSON that is not an object")
        return parsed

    def close(self) -> None:
        self._client.close()
