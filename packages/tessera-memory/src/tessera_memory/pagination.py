"""Cursor pages. Iterating a page walks every item of every later page, fetching as it goes.

::

    for item in client.memories.list(user_id="u1"):          # all items, newest first
        ...
    page = client.memories.list(user_id="u1", limit=20)
    while True:
        handle(page.items)
        if not page.has_next_page():
            break
        page = page.get_next_page()
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Generic, TypeVar

from ._exceptions import TesseraError

T = TypeVar("T")

__all__ = ["AsyncCursorPage", "NoNextPageError", "SyncCursorPage"]


class NoNextPageError(TesseraError, RuntimeError):
    """``get_next_page()`` on the last page (a ``RuntimeError`` too, as in 0.1.4)."""


class _CursorPage(Generic[T]):
    """One page: ``items``, ``has_more``, ``next_cursor``, and how to fetch the next one.

    The keyword constructor is the one the published 0.1.4 client had, so code that builds
    pages by hand (in tests, say) keeps working.
    """

    def __init__(self, *, items: list[T], next_cursor: str | None, has_more: bool) -> None:
        self.items: list[T] = items
        self.has_more: bool = has_more
        self.next_cursor: str | None = next_cursor

    def has_next_page(self) -> bool:
        """True when the service reported more items and gave a cursor to fetch them."""
        return self.has_more and self.next_cursor is not None

    def _require_next_cursor(self) -> str:
        if self.next_cursor is None or not self.has_more:
            raise NoNextPageError("this is the last page; check has_next_page() first")
        return self.next_cursor

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(items=<{len(self.items)} items>, has_more={self.has_more!r},"
            f" next_cursor={self.next_cursor!r})"
        )


class SyncCursorPage(_CursorPage[T]):
    """One page of a list; ``for item in page`` continues through the following pages."""

    def __init__(
        self,
        *,
        items: list[T],
        next_cursor: str | None,
        has_more: bool,
        fetch_next: Callable[[str], SyncCursorPage[T]],
    ) -> None:
        super().__init__(items=items, next_cursor=next_cursor, has_more=has_more)
        self._fetch = fetch_next

    def get_next_page(self) -> SyncCursorPage[T]:
        return self._fetch(self._require_next_cursor())

    def iter_pages(self) -> Iterator[SyncCursorPage[T]]:
        """This page, then each following page."""
        page = self
        yield page
        while page.has_next_page():
            page = page.get_next_page()
            yield page

    def __iter__(self) -> Iterator[T]:
        for page in self.iter_pages():
            yield from page.items


class AsyncCursorPage(_CursorPage[T]):
    """One page of a list; ``async for item in page`` continues through the following pages."""

    def __init__(
        self,
        *,
        items: list[T],
        next_cursor: str | None,
        has_more: bool,
        fetch_next: Callable[[str], Awaitable[AsyncCursorPage[T]]],
    ) -> None:
        super().__init__(items=items, next_cursor=next_cursor, has_more=has_more)
        self._fetch = fetch_next

    async def get_next_page(self) -> AsyncCursorPage[T]:
        return await self._fetch(self._require_next_cursor())

    async def iter_pages(self) -> AsyncIterator[AsyncCursorPage[T]]:
        """This page, then each following page."""
        page = self
        yield page
        while page.has_next_page():
            page = await page.get_next_page()
            yield page

    async def __aiter__(self) -> AsyncIterator[T]:
        async for page in self.iter_pages():
            for item in page.items:
                yield item
