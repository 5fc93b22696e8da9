"""Chat models that answer with JSON; any OpenAI-compatible endpoint."""

from __future__ import annotations

import json
from typing import Any, Protocol

import httpx


class ChatModelError(Exception):
    """The model could not be reached or did not answer with the JSON asked for.

    `answered` tells the two apart: False when no answer came back at all (a refused
    connection, an unknown host, a timeout), so such a call is not counted as an LLM call.
    """

    def __init__(self, message: str, *, answered: bool = True) -> None:
        super().__init__(message)
        self.answered = answered


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
        except httpx.HTTPStatusError as exc:
            raise ChatModelError(f"HTTP {exc.response.status_code} from the chat model") from exc
        except httpx.HTTPError as exc:
            raise ChatModelError(
                f"{type(exc).__name__}: no answer from the chat model", answered=False
            ) from exc
        try:
            content = response.json()["choices"][0]["message"]["content"]
            parsed = json.loads(content)
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise ChatModelError(f"{type(exc).__name__} from the chat model") from exc
        if not isinstance(parsed, dict):
            raise ChatModelError("the chat model answered with JSON that is not an object")
        return parsed

    def close(self) -> None:
        self._client.close()


def probe(base_url: str, api_key: str, timeout: float = 5.0) -> str | None:
    """Whether an OpenAI-compatible endpoint answers at all: None when it does, else why not.

    `GET {base_url}/models` is asked; any HTTP answer (even 404 or 401) shows a server is
    there. Only no answer at all (refused, unknown host, timeout) is reported.
    """
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    try:
        httpx.get(base_url.rstrip("/") + "/models", headers=headers, timeout=timeout)
    except httpx.HTTPError as exc:
        return type(exc).__name__
    return None
