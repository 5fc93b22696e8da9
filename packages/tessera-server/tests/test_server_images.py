"""Uploaded images with no caption and no vision model, over HTTP on SQLite and PostgreSQL.

The images are screenshots the tests draw themselves (code, an error message, a document,
in several fonts and sizes); the bundled OCR reads them in the job worker, and a recall for
words in them finds them. Hostile images get a clear problem, and nothing is stored.
"""

from __future__ import annotations

import io
import struct
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from rendered_images import SCREENSHOTS, render
from server_helpers import Api, problem, service_on, unique
from tessera_server.testing import run_service

# The bundled OCR reading screenshots takes minutes: left out of the fast lane (CI runs it).
# OCR on a busy 2-core machine takes seconds per image: a generous bound, not a timer.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

# PostgreSQL is left out of the fast lane (scripts/test.sh --quick); OCR runs make it slow.
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(scope="module", params=BACKENDS)
def images_api(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Api]:
    with service_on(request.param, tmp_path_factory.mktemp(f"images-{request.param}")) as handle:
        client = Api(handle.base_url, handle.api_key)
        yield client
        client.close()


def upload(api: Api, uid: str, name: str, data: bytes, mime: str = "image/png") -> Any:
    return api.http.post(
        "/v1/resources/file",
        data={"user_id": uid, "blob_ref": f"blob://{name}"},
        files={"file": (name, data, mime)},
    )


def wait_read(api: Api, uid: str, item_id: str, timeout: float = 900.0) -> dict[str, Any]:
    """Poll the resource until the worker has read its text (a liveness bound, not a timer)."""
    deadline = time.monotonic() + timeout
    while True:
        item: dict[str, Any] = api.get(f"/v1/memories/{item_id}", user_id=uid).json()
        if item["metadata"]["tessera"].get("ocr") != "pending" or time.monotonic() > deadline:
            return item
        time.sleep(0.25)


def recall(api: Api, uid: str, query: str, k: int = 2) -> list[str]:
    response = api.post("/v1/resources/recall", {"user_id": uid, "query": query, "k": k})
    assert response.status_code == 200, response.text
    return [r["resource"]["blob_ref"] for r in response.json()["results"]]


def words(text: str) -> set[str]:
    return {w.strip(".,:;()\"'").lower() for w in text.split()}


def test_screenshots_are_found_by_the_words_in_them(images_api: Api) -> None:
    uid = unique("ocr")
    stored = {}
    for shot in SCREENSHOTS:
        response = upload(images_api, uid, shot.name, render(shot))
        assert response.status_code == 201, response.text
        item = response.json()
        # At once: what is known without a model (file name, format, size).
        assert item["caption"].startswith(f"Image {shot.name}: PNG "), item
        stored[shot.name] = item["id"]
    for shot in SCREENSHOTS:
        item = wait_read(images_api, uid, stored[shot.name])
        assert item["metadata"]["tessera"]["ocr"] == "done", item
        read = words(item["text"])
        expected = {w.strip(".,:;()\"'").lower() for line in shot.lines for w in line.split()}
        expected = {w for w in expected if len(w) > 3 and w.isalpha()}
        missing = expected - read
        assert len(missing) <= len(expected) // 10, (shot.name, missing)
    # A recall for words in the screenshots finds the ones that show them.
    assert set(recall(images_api, uid, "ConnectionRefusedError postgres refused connection")) == {
        "blob://error-sans-12.png",
        "blob://error-mono-28.png",
    }
    assert set(recall(images_api, uid, "consolidate_episodes merge_segments max_tokens")) == {
        "blob://code-mono-14-dark.png",
        "blob://code-default-22.png",
    }
    assert set(recall(images_api, uid, "invoices need two approvals in Lisbon")) == {
        "blob://document-serif-18.png",
        "blob://document-default-32.png",
    }


def test_an_image_is_described_without_a_model(images_api: Api) -> None:
    uid = unique("facts")
    out = io.BytesIO()
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "Fujifilm", "X-T4"
    exif.get_ifd(0x8769)[0x9003] = "2024:05:17 09:30:00"
    Image.new("RGB", (120, 80), (0, 128, 128)).save(out, format="JPEG", exif=exif)
    response = upload(images_api, uid, "harbour/teal wall.jpg", out.getvalue(), "image/jpeg")
    assert response.status_code == 201, response.text
    item = response.json()
    caption = item["caption"]
    # The file's base name only, never a client's directory.
    assert caption.startswith("Image teal wall.jpg: JPEG 120x80 pixels"), caption
    assert "colours teal" in caption and "harbour" not in caption
    assert "taken 2024:05:17 09:30:00" in caption and "camera Fujifilm X-T4" in caption
    done = wait_read(images_api, uid, item["id"])
    assert done["metadata"]["tessera"]["ocr"] == "done"
    text = done["text"]
    assert text.startswith(caption) and "No text was read in it." in text
    assert recall(images_api, uid, "teal photo from the Fujifilm camera", k=1) == [
        "blob://harbour/teal wall.jpg"
    ]


def _png_header_only(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")


def test_hostile_images_get_a_clear_problem_and_nothing_is_stored(
    images_api: Api, tmp_path: Path
) -> None:
    uid = unique("hostile")
    whole = render(SCREENSHOTS[0])
    problem(upload(images_api, uid, "empty.png", b""), 422, "png")
    problem(upload(images_api, uid, "cut.png", whole[: len(whole) // 2]), 422, "truncated")
    problem(
        upload(images_api, uid, "noise.png", b"\x89PNG\r\n\x1a\n" + b"\x07" * 500), 422, "image"
    )
    gif = io.BytesIO()
    Image.new("RGB", (4, 4)).save(gif, format="GIF")
    problem(upload(images_api, uid, "gif.png", gif.getvalue()), 422, "image/png")
    # Decompression bombs: refused from the header, before a pixel is decoded.
    problem(upload(images_api, uid, "huge.png", _png_header_only(100_000, 100_000)), 413, "pixels")
    bomb = io.BytesIO()
    Image.new("1", (9000, 9000)).save(bomb, format="PNG")
    assert len(bomb.getvalue()) < 200_000
    problem(upload(images_api, uid, "bomb.png", bomb.getvalue()), 413, "9000x9000")
    problem(upload(images_api, uid, "zero.png", _png_header_only(0, 0)), 422, "image")
    assert recall(images_api, uid, "image", k=5) == []
    # The service is unharmed: the next real image is stored and read.
    fine = upload(images_api, uid, "fine.png", whole)
    assert fine.status_code == 201, fine.text
    assert wait_read(images_api, uid, fine.json()["id"])["metadata"]["tessera"]["ocr"] == "done"


def test_with_ocr_switched_off_an_upload_keeps_its_description(tmp_path: Path) -> None:
    with run_service(tmp_path / "no-ocr", env={"TESSERA_OCR_ENABLED": "false"}) as handle:
        api = Api(handle.base_url, handle.api_key)
        uid = unique("no-ocr")
        response = upload(api, uid, "build-log.png", render(SCREENSHOTS[2]))
        assert response.status_code == 201, response.text
        item = api.get(f"/v1/memories/{response.json()['id']}", user_id=uid).json()
        assert item["metadata"]["tessera"]["ocr"] == "off"
        assert item["text"] == response.json()["caption"]
        assert item["text"].startswith("Image build-log.png: PNG ")
        assert "ConnectionRefusedError" not in item["text"]
        assert recall(api, uid, "build log", k=1) == ["blob://build-log.png"]
        api.close()
