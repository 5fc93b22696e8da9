"""resources.file: local checks before any request, MIME from the extension, multipart body."""

from __future__ import annotations

from pathlib import Path

import pytest
from sdk_fakes import FakeService, Harness, Reply
from tessera_memory import ResourceItem

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
RESOURCE = {"id": "ep_1", "caption": "a cat", "blob_ref": "s3://b/cat", "mime": "image/png"}


@pytest.mark.parametrize("name", ["notes.txt", "photo.bmp", "archive.png.zip", "noext", "x.svg"])
def test_unsupported_extensions_fail_before_any_request(
    harness: Harness, tmp_path: Path, name: str
) -> None:
    f = tmp_path / name
    f.write_bytes(b"data")
    service = FakeService(Reply(201, json=RESOURCE))
    with pytest.raises(ValueError, match="unsupported file extension") as info:
        harness.run(service, lambda c: c.resources.file(path=f, blob_ref="b", user_id="u"))
    assert ".png, .jpg, .jpeg, .gif, .webp" in str(info.value)
    assert service.attempts == 0


def test_a_missing_file_fails_before_any_request(harness: Harness, tmp_path: Path) -> None:
    service = FakeService(Reply(201, json=RESOURCE))
    with pytest.raises(FileNotFoundError):
        harness.run(
            service,
            lambda c: c.resources.file(path=tmp_path / "gone.png", blob_ref="b", user_id="u"),
        )
    assert service.attempts == 0


@pytest.mark.parametrize(
    ("name", "mime"),
    [
        ("cat.png", "image/png"),
        ("cat.PNG", "image/png"),
        ("cat.jpg", "image/jpeg"),
        ("cat.jpeg", "image/jpeg"),
        ("cat.gif", "image/gif"),
        ("cat.webp", "image/webp"),
    ],
)
def test_upload_is_multipart_with_the_guessed_mime(
    harness: Harness, tmp_path: Path, name: str, mime: str
) -> None:
    f = tmp_path / name
    f.write_bytes(PNG)
    service = FakeService(Reply(201, json=RESOURCE))
    result = harness.run(
        service,
        lambda c: c.resources.file(
            path=str(f), blob_ref="s3://b/cat", user_id="u1", session_id="s1"
        ),
    )
    assert isinstance(result, ResourceItem)
    req = service.last
    assert (req.method, req.url.path) == ("POST", "/v1/resources/file")
    assert req.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    body = req.content
    assert f'name="file"; filename="{name}"'.encode() in body
    assert f"Content-Type: {mime}".encode() in body
    assert PNG in body
    for field, value in [("blob_ref", "s3://b/cat"), ("user_id", "u1"), ("session_id", "s1")]:
        assert f'name="{field}"\r\n\r\n{value}\r\n'.encode() in body


def test_unset_scope_fields_are_left_out(harness: Harness, tmp_path: Path) -> None:
    f = tmp_path / "cat.gif"
    f.write_bytes(b"GIF89a")
    service = FakeService(Reply(201, json=RESOURCE))
    harness.run(service, lambda c: c.resources.file(path=f, blob_ref="b", user_id="u"))
    assert b'name="session_id"' not in service.last.content


def test_a_retried_upload_sends_the_whole_file_again(harness: Harness, tmp_path: Path) -> None:
    f = tmp_path / "cat.webp"
    f.write_bytes(PNG)
    service = FakeService(Reply(503), Reply(201, json=RESOURCE))
    harness.run(service, lambda c: c.resources.file(path=f, blob_ref="b", user_id="u"))
    assert service.attempts == 2
    assert all(PNG in r.content for r in service.requests)


def test_an_upload_is_not_replayed_after_a_server_error(harness: Harness, tmp_path: Path) -> None:
    f = tmp_path / "cat.png"
    f.write_bytes(PNG)
    service = FakeService(Reply(500))
    with pytest.raises(Exception):  # noqa: B017
        harness.run(service, lambda c: c.resources.file(path=f, blob_ref="b", user_id="u"))
    assert service.attempts == 1
