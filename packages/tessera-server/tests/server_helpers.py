"""Helpers for the service's end-to-end tests: an HTTP client that checks the invariants
every response must keep, and small builders for the calls the tests repeat.

Every response that goes through `Api` is checked, whatever the test asserts itself:
it carries `X-Request-Id`; it is never a 5xx; a non-2xx body is an RFC 9457 problem whose
`instance` is the request id; and no body ever contains an API key.

A remote model (an LLM or a vision model) cannot run here, so it is a scripted
OpenAI-compatible server on loopback (`ScriptedChat`, `scripted_service`), never a patch of the
service's own code.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from tessera_server.testing import ServiceHandle, run_service

PROBLEM_FIELDS = ("type", "title", "status", "detail", "instance")
KEY_MARK = "tsk_live_"
# Every key a client of this test session used; none may ever appear in a service log.
KNOWN_KEYS: set[str] = set()


class InvariantError(AssertionError):
    pass


def check_invariants(response: httpx.Response, secrets: Iterable[str] = ()) -> None:
    """What holds for every response of the service, success or error."""
    response.read()
    where = f"{response.request.method} {response.request.url.path}"
    request_id = response.headers.get("x-request-id")
    if not request_id:
        raise InvariantError(f"{where}: no X-Request-Id header")
    if response.status_code >= 500 and response.request.url.path != "/ready":
        raise InvariantError(f"{where}: {response.status_code} {response.text[:500]}")
    text = response.text
    for secret in secrets:
        if secret and secret in text:
            raise InvariantError(f"{where}: the response body echoes an API key")
    if KEY_MARK in text and response.request.url.path != "/openapi.json":
        # Problem details talk about `tsk_live_…`; a full key never appears.
        for token in text.replace('"', " ").split():
            if token.startswith(KEY_MARK) and len(token) > len(KEY_MARK) + 12:
                raise InvariantError(f"{where}: the response body contains a key-like token")
    if response.is_success:
        return
    ctype = response.headers.get("content-type", "")
    if not ctype.startswith("application/problem+json"):
        raise InvariantError(f"{where}: {response.status_code} with content-type {ctype!r}")
    body = response.json()
    missing = [f for f in PROBLEM_FIELDS if f not in body]
    if missing:
        raise InvariantError(f"{where}: problem body lacks {missing}: {body}")
    if body["status"] != response.status_code:
        raise InvariantError(f"{where}: problem status {body['status']} != {response.status_code}")
    if body["instance"] != request_id:
        raise InvariantError(
            f"{where}: instance {body['instance']!r} != X-Request-Id {request_id!r}"
        )
    if not isinstance(body["title"], str) or not body["title"]:
        raise InvariantError(f"{where}: problem title is empty")
    if not isinstance(body["detail"], str) or not body["detail"]:
        raise InvariantError(f"{where}: problem detail is empty")
    lowered = body["detail"].lower()
    for leak in ("traceback", "sqlite3", "operationalerror", "integrityerror", 'file "/'):
        if leak in lowered:
            raise InvariantError(f"{where}: problem detail leaks internals: {body['detail']!r}")


def unique(label: str = "u") -> str:
    return f"{label}-{uuid.uuid4().hex[:12]}"


class Api:
    """An httpx client bound to one service and one key, checking every response."""

    def __init__(self, base_url: str, key: str | None, *, secrets: Iterable[str] = ()) -> None:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self.key = key
        if key:
            KNOWN_KEYS.add(key)
        self.secrets = [s for s in (key, *secrets) if s]
        self.http = httpx.Client(
            base_url=base_url,
            headers=headers,
            timeout=60.0,
            event_hooks={"response": [lambda r: check_invariants(r, self.secrets)]},
        )

    def close(self) -> None:
        self.http.close()

    # -- raw verbs ---------------------------------------------------------------------

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.http.get(path, params={k: v for k, v in params.items() if v is not None})

    def post(self, path: str, body: Any = None, **kwargs: Any) -> httpx.Response:
        if body is None:
            return self.http.post(path, **kwargs)
        return self.http.post(path, json=body, **kwargs)

    def delete(self, path: str, body: Any = None) -> httpx.Response:
        if body is None:
            return self.http.delete(path)
        return self.http.request("DELETE", path, json=body)

    def patch(self, path: str, body: Any) -> httpx.Response:
        return self.http.patch(path, json=body)

    def raw(self, method: str, path: str, content: bytes, content_type: str) -> httpx.Response:
        return self.http.request(
            method, path, content=content, headers={"Content-Type": content_type}
        )

    # -- operations --------------------------------------------------------------------

    def add(
        self, user_id: str | None, content: str, *, role: str = "user", **fields: Any
    ) -> httpx.Response:
        body: dict[str, Any] = {"content": content, "role": role, **fields}
        if user_id is not None:
            body["user_id"] = user_id
        return self.post("/v1/memories", body)

    def add_ok(self, user_id: str | None, content: str, **fields: Any) -> dict[str, Any]:
        response = self.add(user_id, content, **fields)
        expected = 200 if fields.get("mode") == "sync" else 201
        assert response.status_code == expected, response.text
        data: dict[str, Any] = response.json()
        return data

    def sync_add(self, user_id: str | None, content: str, **fields: Any) -> dict[str, Any]:
        return self.add_ok(user_id, content, mode="sync", **fields)

    def note(self, user_id: str | None, content: str, **fields: Any) -> dict[str, Any]:
        return self.add_ok(user_id, content, infer=False, **fields)

    def items(self, **scope: Any) -> list[dict[str, Any]]:
        """Every item of a scope, following cursors."""
        out: list[dict[str, Any]] = []
        cursor = None
        for _ in range(1000):
            response = self.get("/v1/memories", cursor=cursor, limit=200, **scope)
            assert response.status_code == 200, response.text
            page = response.json()
            out.extend(page["items"])
            cursor = page["next_cursor"]
            if not page["has_more"]:
                break
        return out

    def search(self, query: str, **fields: Any) -> list[dict[str, Any]]:
        response = self.post("/v1/search", {"query": query, **fields})
        assert response.status_code == 200, response.text
        results: list[dict[str, Any]] = response.json()["results"]
        scores = [r["score"] for r in results]
        assert scores == sorted(scores, reverse=True), f"scores not descending: {scores}"
        return results

    def query(self, query: str, **fields: Any) -> dict[str, Any]:
        response = self.post("/v1/query", {"query": query, **fields})
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()
        scores = [r["score"] for r in data["results"]]
        assert scores == sorted(scores, reverse=True), f"scores not descending: {scores}"
        return data

    def facts(self, **scope: Any) -> list[dict[str, Any]]:
        return [i for i in self.items(**scope) if i["type"] == "fact"]

    def episodes(self, **scope: Any) -> list[dict[str, Any]]:
        return [i for i in self.items(**scope) if i["type"] == "episode"]

    def wait_job(self, job_id: str, timeout: float = 60.0) -> dict[str, Any]:
        """Poll a job until it is finished (the suite never asserts on how long it took)."""
        deadline = time.monotonic() + timeout
        while True:
            response = self.get(f"/v1/jobs/{job_id}")
            assert response.status_code == 200, response.text
            job: dict[str, Any] = response.json()
            if job["status"] in ("succeeded", "failed") or time.monotonic() > deadline:
                return job
            time.sleep(0.1)


def problem(response: httpx.Response, status: int, *needles: str) -> dict[str, Any]:
    """Assert a problem response of `status` whose detail mentions every needle."""
    assert response.status_code == status, f"{response.status_code}: {response.text}"
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    detail = str(body["detail"]).lower()
    for needle in needles:
        assert needle.lower() in detail, f"{needle!r} not in {body['detail']!r}"
    return body


def nothing_forgotten(response: httpx.Response) -> None:
    """An idempotent delete of something absent: 200 with a zero-count report."""
    assert response.status_code == 200, f"{response.status_code}: {response.text}"
    assert response.json() == {
        "turns_deleted": 0,
        "tesserae_deleted": 0,
        "facts_deleted": 0,
        "foresight_deleted": 0,
    }


def dumps(value: Any) -> bytes:
    return json.dumps(value).encode()


def assert_clean_log(log: str) -> None:
    """A service log names no key and holds no crash."""
    for key in KNOWN_KEYS:
        assert key not in log, "an API key appears in the service log"
    for crash in ("Traceback", "unhandled ", "Exception in ASGI application"):
        assert crash not in log, f"the service log shows a crash ({crash!r})"


@contextmanager
def service_on(backend: str, folder: Path) -> Iterator[ServiceHandle]:
    """A service of its own on `backend`: "sqlite" (a file in `folder`) or "postgres" (a
    database of its own on the throwaway PostgreSQL server the tests start). Its log must
    end clean."""
    env: dict[str, str] = {}
    with ExitStack() as stack:
        if backend == "postgres":
            pytest.importorskip("psycopg")
            testserver = pytest.importorskip("tessera_server.store.postgres.testserver")
            env["TESSERA_DATABASE_URL"] = stack.enter_context(testserver.database())
        with run_service(folder, env=env) as handle:
            yield handle
            assert_clean_log(handle.logs())


class ScriptedChat(BaseHTTPRequestHandler):
    """An OpenAI-compatible `/chat/completions`: a subclass says what to answer to each
    request (`answer`: an HTTP status and a body, see `chat`), this sends it."""

    def answer(self, body: dict[str, Any], raw: bytes) -> tuple[int, str]:
        raise NotImplementedError

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers["Content-Length"]))
        status, text = self.answer(json.loads(raw), raw)
        data = text.encode()
        self.send_response(status)
        if data:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


def chat(content: str) -> str:
    """The body of a chat completion whose one message says `content`."""
    return json.dumps({"choices": [{"message": {"role": "assistant", "content": content}}]})


@contextmanager
def scripted_service(
    folder: Path,
    handler: type[ScriptedChat],
    *,
    llm: str | None = None,
    vision: str | None = None,
    key: str | None = None,
    env: dict[str, str] | None = None,
) -> Iterator[ServiceHandle]:
    """A service whose LLM (model name `llm`) and/or vision model (`vision`) is the scripted
    `handler`, served on loopback while the block runs; `key` is the API key the service is
    given for it, `env` any other settings."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings = dict(env or {})
    for kind, model in (("LLM", llm), ("VISION", vision)):
        if model is not None:
            settings[f"TESSERA_{kind}_BASE_URL"] = f"http://127.0.0.1:{server.server_address[1]}/v1"
            settings[f"TESSERA_{kind}_MODEL"] = model
            if key is not None:
                settings[f"TESSERA_{kind}_API_KEY"] = key
    try:
        with run_service(folder, env=settings) as handle:
            yield handle
    finally:
        server.shutdown()
