"""Freed heap memory goes back to the operating system (glibc)."""

from __future__ import annotations

import ctypes.util
import sys
import threading
from pathlib import Path

import pytest
from tessera_server.heap import limit_arenas, release_free_memory

GLIBC = sys.platform == "linux" and ctypes.util.find_library("c") is not None


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(not GLIBC, reason="glibc only")
def test_memory_freed_by_a_thread_is_returned() -> None:
    assert limit_arenas()
    held: list[bytearray] = []

    def churn() -> None:
        # 100 KB chunks stay below glibc's mmap threshold, so they come from an arena.
        held.extend(bytearray(100_000) for _ in range(2_000))
        keep = held[-1]  # the arena's top stays in use: only a trim frees what lies below
        held.clear()
        held.append(keep)

    thread = threading.Thread(target=churn)
    thread.start()
    thread.join()
    before = rss_mb()
    assert release_free_memory(force=True)
    assert before - rss_mb() > 100  # about 200 MB were freed but still resident
