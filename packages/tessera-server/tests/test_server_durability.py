"""Durability: stored turns, keys and queued jobs survive a restart, even a hard kill."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from server_helpers import Api, assert_clean_log
from tessera_server.testing import run_service

# Real processes killed and restarted: long, so left out of the fast lane (it runs in CI).
pytestmark = pytest.mark.slow

IDLE = {"TESSERA_WORKER_ENABLED": "false"}


def test_queued_jobs_are_deduplicated_and_survive_a_restart(fresh_dir: Path) -> None:
    with run_service(fresh_dir, env=IDLE) as first:
        api = Api(first.base_url, first.api_key)
        for text in (
            "I live in Aarhus.",
            "My son's name is Emil.",
            "I'm going to Odense next week.",
        ):
            api.add_ok("anna", text)
        api.add_ok("ben", "I live in Aalborg.")
        job = api.post("/v1/consolidate", {"user_id": "anna"}).json()["job"]
        assert job["status"] == "queued"
        # An already-queued job for the same scope is returned instead of a second one.
        assert api.post("/v1/consolidate", {"user_id": "anna"}).json()["job"] == job
        other = api.post("/v1/consolidate", {"user_id": "ben"}).json()["job"]
        assert other["id"] != job["id"]
        session = api.post("/v1/consolidate", {"user_id": "anna", "session_id": "x"}).json()["job"]
        assert session["id"] not in (job["id"], other["id"])
        assert api.get(f"/v1/jobs/{job['id']}").json()["status"] == "queued"
        assert api.facts(user_id="anna") == []
        old_key = first.api_key
        api.close()
        assert_clean_log(first.logs())

    with run_service(fresh_dir) as second:
        api = Api(second.base_url, old_key)  # the first run's key still works
        for queued in (job, other, session):
            done = api.wait_job(queued["id"])
            assert done["status"] == "succeeded", done
        assert sorted(f["text"] for f in api.facts(user_id="anna")) == [
            "User lives in Aarhus",
            "User's son is Emil",
        ]
        assert [f["text"] for f in api.facts(user_id="ben")] == ["User lives in Aalborg"]
        assert api.query("plans", user_id="anna")["foresight"]
        # A new request after the restart queues a new job.
        fresh = api.post("/v1/consolidate", {"user_id": "anna"}).json()["job"]
        assert fresh["id"] not in (job["id"], other["id"], session["id"])
        api.close()
        assert_clean_log(second.logs())


def test_a_job_interrupted_by_a_crash_is_retried(fresh_dir: Path) -> None:
    with run_service(fresh_dir, env=IDLE) as first:
        api = Api(first.base_url, first.api_key)
        api.add_ok("carl", "I live in Malmo.")
        job = api.post("/v1/consolidate", {"user_id": "carl"}).json()["job"]
        key = first.api_key
        database = first.env["TESSERA_DATABASE_URL"].removeprefix("sqlite:///")
        api.close()
        assert_clean_log(first.logs())
    # As if the worker had claimed it and the process had died mid-job.
    with closing(sqlite3.connect(database)) as db, db:
        db.execute(
            "UPDATE jobs SET status = 'running', attempts = 1, lease_until = '2999-01-01T00:00:00.000000+00:00'"
        )
    with run_service(fresh_dir) as second:
        api = Api(second.base_url, key)
        done = api.wait_job(job["id"])
        assert done["status"] == "succeeded", done
        assert [f["text"] for f in api.facts(user_id="carl")] == ["User lives in Malmo"]
        api.close()
        assert_clean_log(second.logs())


def test_acknowledged_turns_survive_a_hard_kill(fresh_dir: Path) -> None:
    with run_service(fresh_dir) as first:
        api = Api(first.base_url, first.api_key)
        api.add_ok("dora", "pending turn about herons", turn_id="p1")
        api.note("dora", "a verbatim note about egrets", turn_id="n1")
        api.sync_add("dora", "I live in Kiel.", turn_id="s1")
        batch = [
            {"role": "user", "content": f"batch line {i}", "turn_id": f"b{i}"} for i in range(3)
        ]
        api.post("/v1/memories:batch", {"user_id": "dora", "messages": batch})
        key = first.api_key
        api.close()
        assert_clean_log(first.logs())
        first.process.kill()  # no shutdown, no checkpoint
        first.process.wait()

    with run_service(fresh_dir) as second:
        api = Api(second.base_url, key)
        # Every acknowledged turn is there: replays are no-ops...
        for turn_id in ("p1", "n1", "s1", "b0", "b1", "b2"):
            assert api.add_ok("dora", "replayed", turn_id=turn_id)["created"] is False
        # ...what was derived is intact...
        texts = [i["text"] for i in api.items(user_id="dora")]
        assert "a verbatim note about egrets" in texts
        assert "User lives in Kiel" in texts
        # ...and the pending batch consolidates now (the sync add took the earlier turn).
        summary = api.post("/v1/consolidate?sync=true", {"user_id": "dora"}).json()
        assert summary["turns_consolidated"] == 3
        assert "herons" in str(api.search("herons", user_id="dora"))
        api.close()
        assert_clean_log(second.logs())
