"""Read-after-write: a turn is found from the moment its add is acknowledged.

Over HTTP against a real `tessera serve`, on SQLite and on PostgreSQL (started by the tests).
Each mode is covered: `async` (the default, turns wait for `consolidate_every` of them),
`sync`, and a batch; before consolidation the turn reads as an episode of its own, after it
the episode built from it replaces it, and never are both shown.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from server_helpers import Api, unique
from tessera_server.testing import run_service

FACT = "My sister Ilse keeps three beehives on the roof in Ghent"
QUESTION = "who keeps beehives?"

# The worker is off so nothing consolidates behind the test's back: "before" stays before
# until the test asks for consolidation.
ENV = {"TESSERA_WORKER_ENABLED": "false"}


@pytest.fixture(
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], scope="module"
)
def api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    env = dict(ENV)
    data = tmp_path_factory.mktemp(f"raw-{request.param}")
    if request.param == "postgres":
        pytest.importorskip("psycopg")
        testserver = pytest.importorskip("tessera_server.store.postgres.testserver")
        with testserver.database() as url:
            env["TESSERA_DATABASE_URL"] = url
            with run_service(data, env=env) as service:
                client = Api(service.base_url, service.api_key)
                yield client
                client.close()
        return
    with run_service(data, env=env) as service:
        client = Api(service.base_url, service.api_key)
        yield client
        client.close()


def holding(items: list[dict[str, Any]], needle: str) -> list[dict[str, Any]]:
    return [i for i in items if needle in i["text"]]


def test_one_default_add_is_found_by_search_query_list_and_get(api: Api) -> None:
    uid = unique("raw")
    added = api.add_ok(uid, FACT)
    assert added["turn_id"]

    hits = api.search(QUESTION, user_id=uid)
    assert hits and "beehives" in hits[0]["text"]
    assert hits[0]["type"] == "episode"

    answer = api.query(QUESTION, user_id=uid)
    assert "Ilse keeps three beehives" in answer["context"]

    listed = holding(api.items(user_id=uid), "beehives")
    assert [i["id"] for i in listed] == [hits[0]["id"]]
    got = api.get(f"/v1/memories/{hits[0]['id']}", user_id=uid)
    assert got.status_code == 200, got.text
    assert got.json()["text"] == listed[0]["text"]
    provenance = got.json()["metadata"]["tessera"]
    assert provenance["pending"] is True
    assert provenance["source_turn_ids"] == [added["turn_id"]]


def test_after_consolidation_the_episode_replaces_the_turn_without_duplicates(api: Api) -> None:
    uid = unique("raw")
    api.add_ok(uid, FACT)
    before = holding(api.items(user_id=uid), "beehives")
    assert len(before) == 1

    done = api.post("/v1/consolidate", {"user_id": uid}, params={"sync": "true"})
    assert done.status_code == 200, done.text

    after = holding(api.items(user_id=uid), "beehives")
    assert len(after) == 1 and after[0]["type"] == "episode"
    assert "pending" not in after[0]["metadata"]["tessera"]
    # The episode the turn begins keeps the id the turn was shown under: an id read before
    # consolidation names the same memory after it.
    assert after[0]["id"] == before[0]["id"]
    found = [h for h in api.search(QUESTION, user_id=uid) if "beehives" in h["text"]]
    assert len({h["id"] for h in found if h["type"] == "episode"}) == 1
    got = api.get(f"/v1/memories/{before[0]['id']}", user_id=uid)
    assert got.status_code == 200 and "pending" not in got.json()["metadata"]["tessera"]


def test_a_pending_turn_listed_as_an_episode_can_be_pinned_and_unpinned_by_that_id(
    api: Api,
) -> None:
    uid = unique("raw")
    api.add_ok(uid, FACT)
    [shown] = holding(api.items(user_id=uid), "beehives")
    assert shown["metadata"]["tessera"]["pending"] is True
    pinned = api.post(f"/v1/memories/{shown['id']}/pin", {"user_id": uid})
    assert pinned.status_code == 200 and pinned.json()["pinned"] is True, pinned.text
    # Pinning built the turn's episode under the same id; it is the pinned one.
    [now] = holding(api.items(user_id=uid), "beehives")
    assert now["id"] == shown["id"] and now["metadata"]["tessera"]["pinned"] is True
    assert "pending" not in now["metadata"]["tessera"]
    unpinned = api.delete(f"/v1/memories/{shown['id']}/pin", {"user_id": uid})
    assert unpinned.status_code == 200 and unpinned.json()["pinned"] is False, unpinned.text
    # Another user's id space does not hold it.
    other = api.post(f"/v1/memories/{shown['id']}/pin", {"user_id": unique("raw")})
    assert other.status_code == 404


def test_sync_mode_and_batches_are_found_at_once(api: Api) -> None:
    uid = unique("raw")
    api.sync_add(uid, "I started learning the viola last winter")
    assert "viola" in api.search("which instrument am I learning?", user_id=uid)[0]["text"]

    batch = api.post(
        "/v1/memories:batch",
        {
            "user_id": uid,
            "messages": [
                {"role": "user", "content": "Do you know a good bakery near the station?"},
                {"role": "assistant", "content": "Bakkerij Vos opens at seven and sells rye."},
            ],
        },
    )
    assert batch.status_code in (200, 201), batch.text
    assert "Bakkerij Vos" in api.query("where can I buy rye bread?", user_id=uid)["context"]
    texts = [i["text"] for i in api.items(user_id=uid)]
    assert sum("Bakkerij Vos" in t for t in texts) == 1
    assert sum("viola" in t for t in texts) == 1


def test_a_pending_turn_is_forgotten_by_its_item_id_and_stays_in_its_tenant(
    api: Api, tmp_path: Path
) -> None:
    uid = unique("raw")
    api.add_ok(uid, "The spare key hangs behind the blue shutter")
    item = holding(api.items(user_id=uid), "spare key")[0]
    # Another user of the same tenant does not see it.
    assert holding(api.items(user_id=unique("raw")), "spare key") == []
    gone = api.delete(f"/v1/memories/{item['id']}", {"user_id": uid})
    assert gone.status_code == 200, gone.text
    assert gone.json()["turns_deleted"] == 1
    assert holding(api.items(user_id=uid), "spare key") == []
    assert api.search("where is the spare key?", user_id=uid) == []
