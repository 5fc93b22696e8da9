"""Consolidation on demand, jobs, reindex and compress, plus liveness and readiness."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from typing import Any

from server_helpers import Api, problem
from tessera_server.testing import ServiceHandle

SUMMARY_KEYS = {
    "tesserae_created",
    "facts_created",
    "foresight_created",
    "turns_consolidated",
    "llm_calls",
}


def db_path(service: ServiceHandle) -> str:
    return service.env["TESSERA_DATABASE_URL"].removeprefix("sqlite:///")


def test_health_and_ready_need_no_key(anonymous: Api) -> None:
    for path in ("/health", "/ready"):
        response = anonymous.get(path)
        assert response.status_code == 200
        assert response.json() == {"status": "ok"}
        assert response.headers["x-request-id"].startswith("req_")


def test_request_ids_are_unique(api: Api) -> None:
    seen = {api.get("/health").headers["x-request-id"] for _ in range(20)}
    assert len(seen) == 20


def test_consolidate_queues_a_job_that_succeeds(api: Api, uid: str) -> None:
    api.add_ok(uid, "I live in Antwerp.")
    api.add_ok(uid, "I'm going to Bruges tomorrow.")
    response = api.post("/v1/consolidate", {"user_id": uid})
    assert response.status_code == 202
    job = response.json()["job"]
    assert job["id"].startswith("job_") and job["status"] in ("queued", "running", "succeeded")
    done = api.wait_job(job["id"])
    assert done["id"] == job["id"]
    assert done["status"] == "succeeded" and done["kind"] == "consolidate"
    assert done["error"] is None
    assert done["created_at"] <= done["updated_at"]
    assert [f["text"] for f in api.facts(user_id=uid)] == ["User lives in Antwerp"]
    assert api.query("plans", user_id=uid)["foresight"]
    # Nothing is left for a second run.
    assert api.post("/v1/consolidate?sync=true", {"user_id": uid}).json()["turns_consolidated"] == 0


def test_consolidate_sync_returns_the_summary(api: Api, uid: str) -> None:
    for text in ("I live in Ghent.", "My cat's name is Miso.", "See you next Monday!"):
        api.add_ok(uid, text)
    response = api.post("/v1/consolidate?sync=true", {"user_id": uid})
    assert response.status_code == 200
    summary = response.json()
    assert set(summary) == SUMMARY_KEYS
    assert summary["turns_consolidated"] == 3
    assert summary["facts_created"] == 2
    assert summary["foresight_created"] == 1
    assert summary["tesserae_created"] >= 1
    assert summary["llm_calls"] == 0
    empty = api.post("/v1/consolidate?sync=false", {"user_id": uid})
    assert empty.status_code == 202
    assert api.wait_job(empty.json()["job"]["id"])["status"] == "succeeded"
    problem(api.post("/v1/consolidate?sync=maybe", {"user_id": uid}), 422, "sync")


def test_consolidation_is_per_session_when_asked(api: Api, uid: str) -> None:
    api.add_ok(uid, "I live in Delft.", session_id="a")
    api.add_ok(uid, "I live in Leiden.", session_id="b")
    summary = api.post("/v1/consolidate?sync=true", {"user_id": uid, "session_id": "a"}).json()
    assert summary["turns_consolidated"] == 1
    assert [f["text"] for f in api.facts(user_id=uid)] == ["User lives in Delft"]
    summary = api.post("/v1/consolidate?sync=true", {"user_id": uid}).json()
    assert summary["turns_consolidated"] == 1
    # The later statement closed the earlier one's validity (it is history, not deleted).
    facts = {f["text"]: f["metadata"]["tessera"] for f in api.facts(user_id=uid)}
    assert set(facts) == {"User lives in Delft", "User lives in Leiden"}
    assert facts["User lives in Delft"]["t_invalid"] is not None
    assert facts["User lives in Leiden"]["t_invalid"] is None


def test_jobs_of_another_tenant_are_not_found(api: Api, other: Api, uid: str) -> None:
    job = api.post("/v1/consolidate", {"user_id": uid}).json()["job"]
    problem(other.get(f"/v1/jobs/{job['id']}"), 404)
    assert api.get(f"/v1/jobs/{job['id']}").status_code == 200
    theirs = other.post("/v1/consolidate", {"user_id": uid}).json()["job"]
    assert theirs["id"] != job["id"]
    problem(api.get(f"/v1/jobs/{theirs['id']}"), 404)


def test_reindex_backfills_missing_embeddings_deterministically(
    api: Api, service: ServiceHandle, uid: str
) -> None:
    api.sync_add(uid, "I live in Utrecht. My dog's name is Bolt.")
    api.note(uid, "The bike shed is painted green.")
    api.add_ok(uid, "pending turn about canals")
    first = api.post("/v1/reindex", {"user_id": uid})
    assert first.status_code == 200
    assert first.json()["turns_backfilled"] == 0
    panels = first.json()["panels_refreshed"]
    assert panels >= 1
    digest = api.post("/v1/compress", {"user_id": uid}).json()["digest"]
    # As after switching embedding models: the vectors are gone.
    with closing(sqlite3.connect(db_path(service), timeout=30)) as db, db:
        db.execute("UPDATE turns SET embedding = NULL WHERE user_id = ?", (uid,))
        db.execute("UPDATE episodes SET embedding = NULL WHERE user_id = ?", (uid,))
        db.execute("UPDATE facts SET embedding = NULL WHERE user_id = ?", (uid,))
    second = api.post("/v1/reindex", {"user_id": uid}).json()
    assert second == {"turns_backfilled": 3, "panels_refreshed": panels}
    assert api.post("/v1/reindex", {"user_id": uid}).json() == {
        "turns_backfilled": 0,
        "panels_refreshed": panels,
    }
    assert api.post("/v1/compress", {"user_id": uid}).json()["digest"] == digest
    # Dense retrieval works again: a paraphrase with no shared words finds the note.
    hits = api.search("colour of the bicycle hut", user_id=uid, types=["episode"], rerank=False)
    assert "bike shed" in hits[0]["text"]


def test_compress_packs_panel_summaries_under_a_budget(api: Api, uid: str) -> None:
    api.sync_add(uid, "I live in Haarlem and I love tulips.", event_time="2024-04-01T10:00:00Z")
    api.sync_add(
        uid, "My manager's name is Eva. I work at Acme.", event_time="2024-05-01T10:00:00Z"
    )
    api.sync_add(uid, "Quantum chromodynamics lecture notes.", event_time="2024-06-01T10:00:00Z")
    digest = api.post("/v1/compress", {"user_id": uid}).json()["digest"]
    lines = digest.splitlines()
    assert lines and all(line.startswith("- [") for line in lines)
    assert "Haarlem" in digest or "tulips" in digest
    small = api.post("/v1/compress", {"user_id": uid, "token_budget": 30}).json()["digest"]
    assert len(small) <= 30 * 4
    assert small == "\n".join(lines[: len(small.splitlines())])
    assert api.post("/v1/compress", {"user_id": uid, "token_budget": 1}).json()["digest"] == ""
    for bad in (0, -5, 10**9):
        problem(
            api.post("/v1/compress", {"user_id": uid, "token_budget": bad}), 422, "token_budget"
        )
    assert api.post("/v1/compress", {"user_id": uid + "-nobody"}).json() == {"digest": ""}


def test_pinned_episodes_survive_maintenance(api: Api, uid: str) -> None:
    api.sync_add(uid, "I love the old lighthouse.")
    episode = api.episodes(user_id=uid)[0]
    api.post(f"/v1/memories/{episode['id']}/pin", {"user_id": uid})
    for _ in range(2):
        api.post("/v1/reindex", {"user_id": uid})
        api.post("/v1/consolidate?sync=true", {"user_id": uid})
        api.post("/v1/compress", {"user_id": uid})
    got: dict[str, Any] = api.get(f"/v1/memories/{episode['id']}", user_id=uid).json()
    assert got["text"] == episode["text"]
    assert got["metadata"]["tessera"]["pinned"] is True


def test_a_job_that_keeps_failing_is_reported_failed_with_its_error(
    api: Api, service: ServiceHandle, uid: str
) -> None:
    # No endpoint queues a job that cannot run, so one is planted in the queue directly.
    with closing(sqlite3.connect(db_path(service), timeout=30)) as db, db:
        tenant = db.execute("SELECT id FROM tenants WHERE name = 'test'").fetchone()[0]
        stamp = "2026-01-01T00:00:00.000000+00:00"
        cur = db.execute(
            "INSERT INTO jobs (tenant_id, kind, user_id, session_id, status, created_at, "
            "updated_at) VALUES (?, 'no-such-kind', ?, '', 'queued', ?, ?)",
            (tenant, uid, stamp, stamp),
        )
        job_id = f"job_{cur.lastrowid}"
    done = api.wait_job(job_id)
    assert done["status"] == "failed"
    assert done["kind"] == "no-such-kind"
    assert done["error"] and "attempt 3" in done["error"]
    assert uid not in done["error"]
    # The worker carries on with other work.
    job = api.post("/v1/consolidate", {"user_id": uid}).json()["job"]
    assert api.wait_job(job["id"])["status"] == "succeeded"
