"""Tessera in-process: ``Tessera.local`` / ``AsyncTessera.local`` on a real SQLite file.

No server, no port, no key: the service's own app runs inside the test process. The file is
then opened by a real ``tessera serve`` and the same memory is read over HTTP with a key of
the ``local`` tenant.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

import pytest
from tessera_memory import AsyncTessera, NotFoundError, Tessera

if os.environ.get("CI"):
    from tessera_server import testing
else:  # the SDK's suite can run without the service installed; CI always runs it
    testing = pytest.importorskip("tessera_server.testing")


def listening_ports() -> set[int]:
    """TCP ports this process listens on (the in-process client must open none)."""
    mine = set()
    for fd in Path("/proc/self/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            mine.add(target[8:-1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in mine:  # LISTEN, by a socket of ours
                ports.add(int(fields[1].split(":")[1], 16))
    return ports


def test_sync_local_remembers_at_once_and_serve_opens_the_file(tmp_path: Path) -> None:
    db = tmp_path / "data" / "tessera.db"
    before = listening_ports()
    with Tessera.local(db) as client:
        added = client.memories.add(
            content="I moved to Lisbon in March", role="user", user_id="ana"
        )
        assert added.turn_id
        hits = client.search("where do I live?", user_id="ana")
        assert "Lisbon" in hits.results[0].text
        assert "Lisbon" in client.query("where do I live?", user_id="ana").context
        listed = client.memories.list(user_id="ana")
        assert [i.text for i in listed.items if "Lisbon" in i.text]
        with pytest.raises(NotFoundError):
            client.memories.get("ep_00000000-0000-4000-8000-000000000000", user_id="ana")
        assert listening_ports() == before
    assert db.exists()

    # The same file under `tessera serve`, through a key of the `local` tenant.
    with testing.run_service(db.parent, tenant="local") as service:
        server = Tessera(api_key=service.api_key, base_url=service.base_url)
        try:
            assert "Lisbon" in server.search("where do I live?", user_id="ana").results[0].text
        finally:
            server.close()


@pytest.mark.anyio
async def test_async_local_reads_what_the_sync_client_wrote(tmp_path: Path) -> None:
    db = tmp_path / "tessera.db"
    with Tessera.local(db) as client:
        client.memories.add(content="My cat is called Miso", role="user", user_id="bo")
    async with AsyncTessera.local(db) as aclient:
        answer = await aclient.query("what is my cat's name?", user_id="bo")
        assert "Miso" in answer.context
        added: Any = await aclient.memories.add(
            content="Miso is afraid of the vacuum", role="user", user_id="bo"
        )
        assert added.turn_id
        hits = await aclient.search("what scares the cat?", user_id="bo")
        assert any("vacuum" in h.text for h in hits.results)


def test_a_closed_local_client_says_so(tmp_path: Path) -> None:
    client = Tessera.local(tmp_path / "t.db")
    client.close()
    client.close()  # closing twice is harmless
    with pytest.raises(Exception, match="closed"):
        client.health()


def test_local_binds_no_port(tmp_path: Path) -> None:
    with socket.socket() as probe:  # the check itself sees a port this process opens
        probe.bind(("127.0.0.1", 0))
        probe.listen()
        assert probe.getsockname()[1] in listening_ports()
    before = listening_ports()
    with Tessera.local(tmp_path / "t.db") as client:
        client.memories.add(content="hello", role="user", user_id="x")
        assert listening_ports() == before
