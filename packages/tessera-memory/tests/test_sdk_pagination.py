"""Cursor pages: auto-following iteration, explicit page walking, raw pages."""

from __future__ import annotations

from typing import Any, ClassVar

import httpx
import pytest
from sdk_fakes import API_KEY, BASE_URL, FakeService, Reply, memory_item
from tessera_memory import (
    APIResponse,
    AsyncCursorPage,
    AsyncTessera,
    MemoryItem,
    SyncCursorPage,
    Tessera,
    TesseraError,
)


class ThreePages(FakeService):
    """Serves pages by cursor, so pages can be fetched again and in any order."""

    PAGES: ClassVar[dict[str | None, dict[str, Any]]] = {
        None: {"items": [memory_item(1), memory_item(2)], "has_more": True, "next_cursor": "c2"},
        "c2": {"items": [memory_item(3), memory_item(4)], "has_more": True, "next_cursor": "c3"},
        "c3": {"items": [memory_item(5)], "has_more": False, "next_cursor": None},
    }

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.replies = [Reply(json=self.PAGES[request.url.params.get("cursor")])]
        return super().__call__(request)


def three_pages() -> FakeService:
    return ThreePages()


def sync_client(service: FakeService) -> Tessera:
    http = httpx.Client(transport=httpx.MockTransport(service))
    return Tessera(api_key=API_KEY, base_url=BASE_URL, http_client=http)


def async_client(service: FakeService) -> AsyncTessera:
    http = httpx.AsyncClient(transport=httpx.MockTransport(service))
    return AsyncTessera(api_key=API_KEY, base_url=BASE_URL, http_client=http)


def texts(items: list[MemoryItem]) -> list[str]:
    return [item.text for item in items]


def test_iteration_follows_the_cursor() -> None:
    service = three_pages()
    page = sync_client(service).memories.list(user_id="u", session_id="s", limit=2)
    assert isinstance(page, SyncCursorPage)
    assert texts(page.items) == ["memory 1", "memory 2"]
    assert page.has_more and page.next_cursor == "c2" and page.has_next_page()
    assert service.attempts == 1  # nothing fetched ahead of need
    assert texts(list(page)) == [f"memory {i}" for i in range(1, 6)]
    assert [dict(r.url.params) for r in service.requests] == [
        {"user_id": "u", "session_id": "s", "limit": "2"},
        {"user_id": "u", "session_id": "s", "limit": "2", "cursor": "c2"},
        {"user_id": "u", "session_id": "s", "limit": "2", "cursor": "c3"},
    ]


def test_explicit_page_walking() -> None:
    page = sync_client(three_pages()).memories.list(user_id="u")
    second = page.get_next_page()
    third = second.get_next_page()
    assert texts(third.items) == ["memory 5"]
    assert not third.has_next_page()
    with pytest.raises(TesseraError, match="last page"):
        third.get_next_page()
    assert [len(p.items) for p in page.iter_pages()] == [2, 2, 1]


def test_a_starting_cursor_is_sent() -> None:
    service = FakeService(Reply(json={"items": [], "has_more": False}))
    page = sync_client(service).memories.list(user_id="u", cursor="abc")
    assert dict(service.last.url.params) == {"user_id": "u", "cursor": "abc"}
    assert list(page) == [] and page.next_cursor is None


def test_has_more_without_a_cursor_stops() -> None:
    service = FakeService(Reply(json={"items": [memory_item(1)], "has_more": True}))
    page = sync_client(service).memories.list(user_id="u")
    assert not page.has_next_page()
    assert len(list(page)) == 1 and service.attempts == 1


def test_raw_list_wraps_a_page() -> None:
    raw = sync_client(three_pages()).memories.with_raw_response.list(user_id="u")
    assert isinstance(raw, APIResponse) and raw.request_id == "req_1"
    assert isinstance(raw.parsed, SyncCursorPage)
    assert len(list(raw.parsed)) == 5


@pytest.mark.anyio
async def test_async_iteration_follows_the_cursor() -> None:
    service = three_pages()
    page = await async_client(service).memories.list(user_id="u", limit=2)
    assert isinstance(page, AsyncCursorPage)
    assert page.has_next_page() and service.attempts == 1
    assert texts([item async for item in page]) == [f"memory {i}" for i in range(1, 6)]
    assert dict(service.last.url.params) == {"user_id": "u", "limit": "2", "cursor": "c3"}


@pytest.mark.anyio
async def test_async_explicit_page_walking() -> None:
    page = await async_client(three_pages()).memories.list(user_id="u")
    second = await page.get_next_page()
    assert texts(second.items) == ["memory 3", "memory 4"]
    assert [len(p.items) async for p in page.iter_pages()] == [2, 2, 1]
    last = await (await page.get_next_page()).get_next_page()
    with pytest.raises(TesseraError):
        await last.get_next_page()


@pytest.mark.anyio
async def test_async_raw_list_wraps_a_page() -> None:
    raw = await async_client(three_pages()).memories.with_raw_response.list(user_id="u")
    assert isinstance(raw.parsed, AsyncCursorPage)
    assert len([item async for item in raw.parsed]) == 5


def test_a_malformed_page_is_a_validation_error() -> None:
    from tessera_memory import APIResponseValidationError

    with pytest.raises(APIResponseValidationError):
        sync_client(FakeService(Reply(json={"data": []}))).memories.list(user_id="u")
