"""Procedures (learned how-tos) and resources (described blobs), end to end."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
from PIL import Image
from server_helpers import Api, ScriptedChat, assert_clean_log, chat, problem, scripted_service


def _image(fmt: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (16, 16), (0, 128, 128)).save(out, format=fmt)
    return out.getvalue()


PNG, JPEG = _image("PNG"), _image("JPEG")


def remember(api: Api, uid: str, trigger: str, steps: list[str], success: str) -> dict[str, Any]:
    body = {"user_id": uid, "trigger": trigger, "steps": steps, "success": success}
    response = api.post("/v1/procedures", body)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


def recall(api: Api, uid: str, task: str, **extra: Any) -> list[dict[str, Any]]:
    response = api.post("/v1/procedures/recall", {"user_id": uid, "task": task, **extra})
    assert response.status_code == 200, response.text
    results: list[dict[str, Any]] = response.json()["results"]
    return results


@pytest.fixture
def procedures(api: Api, uid: str) -> dict[str, dict[str, Any]]:
    return {
        "deploy": remember(
            api,
            uid,
            "deploy the web service to production",
            ["run the test suite", "build the container image", "roll out with kubectl"],
            "the health check is green",
        ),
        "bread": remember(
            api,
            uid,
            "bake sourdough bread",
            ["feed the starter", "mix flour and water", "bake at 250 degrees"],
            "the crust is dark and crackles",
        ),
        "tax": remember(
            api,
            uid,
            "file the yearly tax return",
            ["collect receipts", "submit the form"],
            "a confirmation email",
        ),
    }


def test_remember_procedure(api: Api, uid: str) -> None:
    view = remember(
        api,
        uid,
        "  rotate the API keys  ",
        ["create a new key", "revoke the old key"],
        "old key gets 401",
    )
    assert view["id"].startswith("ep_")
    assert view == {
        "id": view["id"],
        "trigger": "rotate the API keys",
        "steps": ["create a new key", "revoke the old key"],
        "success": "old key gets 401",
        "uses": 0,
        "last_outcome": None,
    }
    # A procedure is an episode subtype: it can be fetched, and it is pinned.
    got = api.get(f"/v1/memories/{view['id']}", user_id=uid).json()
    assert got["type"] == "episode" and got["text"] == "rotate the API keys"
    assert got["metadata"]["tessera"]["kind"] == "procedure"
    assert got["metadata"]["tessera"]["pinned"] is True


def test_recall_ranks_by_similarity_with_k_and_min_similarity(
    api: Api, uid: str, procedures: dict[str, dict[str, Any]]
) -> None:
    found = recall(api, uid, "ship the new release of the web app to prod")
    assert found[0]["procedure"]["id"] == procedures["deploy"]["id"]
    assert found[0]["procedure"]["steps"] == procedures["deploy"]["steps"]
    sims = [r["similarity"] for r in found]
    assert sims == sorted(sims, reverse=True)
    assert all(-1.0 <= s <= 1.0 for s in sims)
    assert len(found) == 3  # the default k
    assert len(recall(api, uid, "bread", k=1)) == 1
    assert recall(api, uid, "bread", k=1)[0]["procedure"]["id"] == procedures["bread"]["id"]
    assert len(recall(api, uid, "bread", k=100)) == 3
    # A threshold drops the weak matches.
    strict = recall(api, uid, "bake sourdough bread", min_similarity=0.9)
    assert [r["procedure"]["id"] for r in strict] == [procedures["bread"]["id"]]
    assert recall(api, uid, "quantum chromodynamics lecture", min_similarity=0.95) == []
    everything = recall(api, uid, "anything", min_similarity=-1.0)
    assert len(everything) == 3


def test_recall_changes_no_counters_and_outcome_increments(
    api: Api, uid: str, procedures: dict[str, dict[str, Any]]
) -> None:
    bread = procedures["bread"]["id"]
    for _ in range(3):
        recall(api, uid, "bake bread")
    assert all(r["procedure"]["uses"] == 0 for r in recall(api, uid, "bake bread"))
    first = api.post(f"/v1/procedures/{bread}/outcome", {"user_id": uid, "success": True})
    assert first.status_code == 200
    assert first.json()["uses"] == 1 and first.json()["last_outcome"] is True
    second = api.post(f"/v1/procedures/{bread}/outcome", {"user_id": uid, "success": False}).json()
    assert second["uses"] == 2 and second["last_outcome"] is False
    assert second["steps"] == procedures["bread"]["steps"]
    recalled = {r["procedure"]["id"]: r["procedure"] for r in recall(api, uid, "bake bread")}
    assert recalled[bread]["uses"] == 2 and recalled[bread]["last_outcome"] is False
    assert recalled[procedures["deploy"]["id"]]["uses"] == 0


def test_procedures_stay_out_of_search_and_lists_of_other_users(
    api: Api, uid: str, procedures: dict[str, dict[str, Any]]
) -> None:
    assert recall(api, uid + "-someone-else", "bake bread") == []


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"trigger": "", "steps": ["a"], "success": "ok"}, "trigger"),
        ({"trigger": "t", "steps": ["a"], "success": "  "}, "success"),
        ({"trigger": "t", "steps": [""], "success": "ok"}, "steps"),
        ({"trigger": "t", "steps": ["s"] * 51, "success": "ok"}, "steps"),
        ({"trigger": "x" * 32_001, "steps": ["a"], "success": "ok"}, "trigger"),
        ({"steps": ["a"], "success": "ok"}, "trigger"),
    ],
)
def test_remember_procedure_rejects_bad_input(
    api: Api, uid: str, body: dict[str, Any], needle: str
) -> None:
    problem(api.post("/v1/procedures", {"user_id": uid, **body}), 422, needle)


def test_recall_rejects_bad_bounds(api: Api, uid: str) -> None:
    for extra, needle in (
        ({"k": 0}, "k"),
        ({"k": 101}, "k"),
        ({"min_similarity": 1.5}, "min_similarity"),
        ({"min_similarity": -2}, "min_similarity"),
    ):
        problem(
            api.post("/v1/procedures/recall", {"user_id": uid, "task": "x", **extra}), 422, needle
        )
    problem(api.post("/v1/procedures/recall", {"user_id": uid, "task": ""}), 422, "task")
    raw = f'{{"user_id": "{uid}", "task": "x", "min_similarity": NaN}}'.encode()
    problem(
        api.raw("POST", "/v1/procedures/recall", raw, "application/json"), 422, "min_similarity"
    )
    for path, field in (("/v1/resources/recall", "query"),):
        problem(api.post(path, {"user_id": uid, field: "x", "k": 0}), 422, "k")
        problem(api.post(path, {"user_id": uid, field: "x", "k": 101}), 422, "k")
        problem(api.post(path, {"user_id": uid, field: " "}), 422, field)


# -- resources --------------------------------------------------------------------------


def test_resource_with_caption_is_stored_verbatim_and_recalled(api: Api, uid: str) -> None:
    caption = "  Whiteboard photo: Q3 roadmap with three milestones  "
    response = api.post(
        "/v1/resources",
        {
            "user_id": uid,
            "blob_ref": "s3://bucket/roadmap.png",
            "mime": "image/png",
            "caption": caption,
        },
    )
    assert response.status_code == 201
    item = response.json()
    assert item["id"].startswith("ep_")
    assert item["caption"] == caption.strip()
    assert item["blob_ref"] == "s3://bucket/roadmap.png" and item["mime"] == "image/png"
    api.post(
        "/v1/resources",
        {
            "user_id": uid,
            "blob_ref": "b2",
            "mime": "image/jpeg",
            "caption": "a cat asleep on a sofa",
        },
    )
    found = api.post(
        "/v1/resources/recall", {"user_id": uid, "query": "product roadmap milestones"}
    ).json()
    results = found["results"]
    assert results[0]["resource"] == item
    assert [r["similarity"] for r in results] == sorted(
        (r["similarity"] for r in results), reverse=True
    )
    one = api.post("/v1/resources/recall", {"user_id": uid, "query": "cat", "k": 1}).json()[
        "results"
    ]
    assert len(one) == 1 and one[0]["resource"]["caption"] == "a cat asleep on a sofa"
    got = api.get(f"/v1/memories/{item['id']}", user_id=uid).json()
    assert got["metadata"]["tessera"]["kind"] == "resource"


def test_resource_without_caption_or_vision_model_is_422_saying_what_to_configure(
    api: Api, uid: str
) -> None:
    response = api.post(
        "/v1/resources",
        {
            "user_id": uid,
            "blob_ref": "b",
            "mime": "image/png",
            "image_url": "https://example.com/a.png",
        },
    )
    problem(response, 422, "caption", "TESSERA_VISION_BASE_URL")
    blank = api.post(
        "/v1/resources", {"user_id": uid, "blob_ref": "b", "mime": "image/png", "caption": "  "}
    )
    problem(blank, 422, "caption")
    problem(
        api.post("/v1/resources", {"user_id": uid, "blob_ref": "b", "mime": "image/png"}),
        422,
        "caption",
    )
    problem(
        api.post(
            "/v1/resources", {"user_id": uid, "blob_ref": " ", "mime": "image/png", "caption": "c"}
        ),
        422,
        "blob_ref",
    )
    assert (
        api.post("/v1/resources/recall", {"user_id": uid, "query": "anything"}).json()["results"]
        == []
    )


def upload(api: Api, uid: str, data: bytes, name: str, mime: str, blob_ref: str = "blob-1") -> Any:
    return api.http.post(
        "/v1/resources/file",
        data={"user_id": uid, "blob_ref": blob_ref},
        files={"file": (name, data, mime)},
    )


def test_upload_limits_and_types(api: Api, uid: str) -> None:
    big = b"\x89PNG\r\n\x1a\n" + b"\x00" * 5_000_001
    problem(upload(api, uid, big, "big.png", "image/png"), 413)
    problem(upload(api, uid, b"%PDF-1.7 not an image", "doc.pdf", "application/pdf"), 422, "png")
    problem(upload(api, uid, b"hello", "notes.txt", "text/plain"), 422, "png")
    problem(upload(api, uid, b"not really a png", "fake.png", "image/png"), 422, "image/png")
    problem(upload(api, uid, JPEG, "photo.png", "image/png"), 422, "image/png")
    problem(  # multipart, as the route reads, but without the `file` part
        api.http.post(
            "/v1/resources/file",
            data={"user_id": uid, "blob_ref": "b"},
            files={"note": ("n.txt", b"x", "text/plain")},
        ),
        422,
        "file",
    )
    problem(
        api.http.post(
            "/v1/resources/file", data={"user_id": uid}, files={"file": ("a.png", PNG, "image/png")}
        ),
        422,
        "blob_ref",
    )
    assert (
        api.post("/v1/resources/recall", {"user_id": uid, "query": "image"}).json()["results"] == []
    )


# -- with a vision model ------------------------------------------------------------------


class FakeVision(ScriptedChat):
    """Captions every image the same way: a bicycle or a kayak."""

    seen: ClassVar[list[dict[str, Any]]] = []

    def answer(self, body: dict[str, Any], raw: bytes) -> tuple[int, str]:
        FakeVision.seen.append(body)
        url = body["messages"][0]["content"][1]["image_url"]["url"]
        if "bike" in url or url.startswith("data:image/jpeg"):
            return 200, chat("A red bicycle leaning on a brick wall")
        return 200, chat("A blue kayak on a lake")


@pytest.fixture(scope="module")
def vision_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    key = "sk-vision-secret-do-not-log"
    folder = tmp_path_factory.mktemp("vision")
    with scripted_service(folder, FakeVision, vision="fake-vision", key=key) as handle:
        client = Api(handle.base_url, handle.api_key, secrets=[key])
        yield client
        client.close()
        assert key not in handle.logs()
        assert_clean_log(handle.logs())


def test_vision_model_captions_urls_and_uploads(vision_api: Api, uid: str) -> None:
    by_url = vision_api.post(
        "/v1/resources",
        {
            "user_id": uid,
            "blob_ref": "r1",
            "mime": "image/jpeg",
            "image_url": "https://example.com/bike.jpg",
        },
    )
    assert by_url.status_code == 201, by_url.text
    assert by_url.json()["caption"] == "A red bicycle leaning on a brick wall"
    uploaded = upload(vision_api, uid, PNG, "lake.png", "image/png", blob_ref="r2")
    assert uploaded.status_code == 201, uploaded.text
    assert uploaded.json()["caption"] == "A blue kayak on a lake"
    assert uploaded.json()["mime"] == "image/png" and uploaded.json()["blob_ref"] == "r2"
    # The model's caption is the text: no offline OCR is queued behind it.
    stored = vision_api.get(f"/v1/memories/{uploaded.json()['id']}", user_id=uid).json()
    assert stored["text"] == "A blue kayak on a lake" and "ocr" not in stored["metadata"]["tessera"]
    # The image went to the model as a data URL; the service keeps only the caption.
    assert FakeVision.seen[-1]["messages"][0]["content"][1]["image_url"]["url"].startswith(
        "data:image/png;base64,"
    )
    # A supplied caption wins over the model.
    given = vision_api.post(
        "/v1/resources",
        {
            "user_id": uid,
            "blob_ref": "r3",
            "mime": "image/png",
            "caption": "my own words",
            "image_url": "https://example.com/x.png",
        },
    ).json()
    assert given["caption"] == "my own words"
    hits = vision_api.post(
        "/v1/resources/recall", {"user_id": uid, "query": "kayak on the water", "k": 1}
    ).json()
    assert hits["results"][0]["resource"]["blob_ref"] == "r2"
    # The MIME type is sniffed from the file name when the part has none.
    sniffed = vision_api.http.post(
        "/v1/resources/file",
        data={"user_id": uid, "blob_ref": "r4"},
        files={"file": ("photo.jpg", JPEG, "application/octet-stream")},
    )
    assert sniffed.status_code == 201, sniffed.text
    assert sniffed.json()["mime"] == "image/jpeg"


def test_deleting_procedures_and_resources(
    api: Api, uid: str, procedures: dict[str, dict[str, Any]]
) -> None:
    resource = api.post(
        "/v1/resources", {"user_id": uid, "blob_ref": "r", "mime": "image/png", "caption": "a map"}
    ).json()
    for item in (procedures["bread"], resource):
        response = api.delete(f"/v1/memories/{item['id']}", {"user_id": uid})
        assert response.json() == {
            "turns_deleted": 0,
            "tesserae_deleted": 1,
            "facts_deleted": 0,
            "foresight_deleted": 0,
        }
    assert procedures["bread"]["id"] not in str(recall(api, uid, "bake sourdough bread", k=10))
    found = api.post("/v1/resources/recall", {"user_id": uid, "query": "a map"}).json()
    assert found == {"results": []}
    outcome = {"user_id": uid, "success": True}
    problem(api.post(f"/v1/procedures/{procedures['bread']['id']}/outcome", outcome), 404)
