"""The memory console in a real headless Chromium against a real service on loopback.

Memory is written through the SDK, then a person's path is walked in the browser: sign in,
browse the scopes and a scope's timeline, read facts on both timelines as of a past instant,
search and read each ranking signal and the context an agent gets, then pin, correct,
forget a turn (its cascade shown first, the turn gone after) and wipe. A read-only key sees
no write control and its forged writes are refused; cross-site and token-less writes are
refused; another tenant's ids give the very page an id that never existed gives; stored
`<script>` and `onerror=` payloads stay text. Every page is checked for what it loads: only
the console's own files, no Content-Security-Policy violation, no dialog.

Screenshots of each page go to `$TESSERA_CONSOLE_SHOTS` when set (the docs' images are
regenerated that way by `scripts/console_screenshots.py`).
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import zlib
from base64 import b64encode
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
from server_helpers import KNOWN_KEYS, assert_clean_log
from tessera_server.testing import ServiceHandle, run_service

if not os.environ.get("CI"):
    pytest.importorskip(
        "playwright.sync_api", reason="pip install -r docs/requirements-browser.txt"
    )
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

# Drives a headless Chromium: left out of the fast lane (scripts/test.sh --quick).
pytestmark = pytest.mark.browser

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]
XSS_SCRIPT = "<script>window.__pwned = 1; alert('stored')</script> I keep my notes in Obsidian."
XSS_IMG = 'My avatar is <img src=x onerror="window.__pwned = 2; alert(2)"> a red fox.'


def _chromium() -> str:
    found = (
        os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    )
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("no Chromium: apt-get install chromium (CI must run the console test)")
        pytest.skip("no Chromium found (apt-get install chromium, or set CHROMIUM=/path)")
    return found


def tiny_png(rgb: tuple[int, int, int], size: int = 24) -> bytes:
    """A solid-colour PNG, written by hand so the test needs no imaging library."""
    raw = b"".join(b"\x00" + bytes(rgb) * size for _ in range(size))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def at(year: int, month: int, day: int) -> str:
    return datetime(year, month, day, 12, tzinfo=timezone.utc).isoformat()


@dataclass
class World:
    service: ServiceHandle
    read_only_key: str
    other_key: str
    other_ids: dict[str, str] = field(default_factory=dict)

    @property
    def base(self) -> str:
        return self.service.base_url

    def api(self, key: str | None = None) -> httpx.Client:
        return httpx.Client(
            base_url=self.base,
            headers={"Authorization": f"Bearer {key or self.service.api_key}"},
            timeout=60,
        )


def _add(client: Any, user: str, session: str, role: str, text: str, when: str) -> str:
    added = client.memories.add(
        content=text, role=role, user_id=user, session_id=session, mode="sync", event_time=when
    )
    return str(added.turn_id)


def fill(client: Any, user: str, folder: Path) -> None:
    """A small, realistic memory for `user`: a move (a superseded fact), plans, a how-to, two
    images (one given with a caption and a small `data:` image, one uploaded), and two stored
    attacks."""
    _add(client, user, "s1", "user", "I live in Berlin with my partner.", at(2024, 1, 10))
    _add(client, user, "s1", "assistant", "Noted: you live in Berlin.", at(2024, 1, 10))
    _add(client, user, "s1", "user", "I work as a nurse at the Charité.", at(2024, 2, 2))
    _add(client, user, "s2", "user", "I live in Lisbon now, we moved in March.", at(2025, 3, 20))
    _add(client, user, "s2", "user", XSS_SCRIPT, at(2025, 4, 1))
    _add(client, user, "s2", "user", XSS_IMG, at(2025, 4, 2))
    _add(
        client,
        user,
        "s3",
        "user",
        "Remind me: my dentist appointment is on 2099-06-14.",
        at(2025, 5, 1),
    )
    client.procedures.remember(
        trigger="deploy the blog",
        steps=["run the tests", "build the site", "push to the main branch"],
        success="the new post is online",
        user_id=user,
    )
    thumb = "data:image/png;base64," + b64encode(tiny_png((214, 96, 48))).decode()
    client.resources.remember(
        blob_ref="s3://photos/fox.png",
        mime="image/png",
        caption="A red fox sitting in the snow, drawn as a <b>sketch</b>.",
        image_url=thumb,
        user_id=user,
    )
    upload = folder / "teal-square.png"
    upload.write_bytes(tiny_png((0, 128, 128), size=120))
    client.resources.file(path=upload, blob_ref="s3://photos/teal-square.png", user_id=user)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    from tessera_memory import Tessera

    folder = tmp_path_factory.mktemp("console")
    with run_service(folder / "service") as service:
        read_only = service.create_key("test", read_only=True)
        other = service.create_key("other")
        KNOWN_KEYS.update({service.api_key, read_only, other})
        with Tessera(api_key=service.api_key, base_url=service.base_url) as client:
            fill(client, "ada", folder)
        state = World(service, read_only, other)
        with Tessera(api_key=other, base_url=service.base_url) as theirs:
            turn = _add(theirs, "ada", "s1", "user", "I live in Oslo.", at(2024, 6, 1))
            listed = theirs.memories.list(user_id="ada")
            items = list(listed.items)
            state.other_ids = {
                "episode": next(i.id for i in items if i.type == "episode"),
                "fact": next(i.id for i in items if i.type == "fact"),
                "turn": turn,
            }
        yield state
        log = service.logs()
        assert_clean_log(log)
        for content in ("Obsidian", "red fox", "locker code", "where does ada live"):
            assert content not in log, "memory content or a search reached the service log"


@dataclass
class Watch:
    """What a page did that it must not: dialogs, CSP violations, requests elsewhere."""

    dialogs: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    chromium = _chromium()
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


def _context(browser: Browser, world: World) -> tuple[BrowserContext, Page, Watch]:
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    page = context.new_page()
    watch = Watch()

    def on_dialog(dialog: Any) -> None:
        watch.dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on(
        "console",
        lambda msg: (
            watch.violations.append(msg.text) if "Content Security Policy" in msg.text else None
        ),
    )
    page.on(
        "request",
        lambda req: (
            None if req.url.startswith((world.base, "data:")) else watch.foreign.append(req.url)
        ),
    )
    return context, page, watch


def sign_in(page: Page, world: World, key: str) -> None:
    page.goto(f"{world.base}/console/")
    assert page.url.endswith("/console/login")
    page.fill("#key", key)
    page.click("button[type=submit]")
    page.wait_for_url("**/console/scopes")


def shoot(page: Page, name: str) -> None:
    target = os.environ.get("TESSERA_CONSOLE_SHOTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(target) / f"{name}.png"), full_page=True)


def assert_inert(page: Page, watch: Watch) -> None:
    assert watch.dialogs == [], f"a dialog opened: {watch.dialogs}"
    assert page.evaluate("window.__pwned === undefined"), "a stored payload ran"
    assert watch.violations == [], f"CSP violations: {watch.violations}"
    assert watch.foreign == [], f"requests to other hosts: {watch.foreign}"


@pytest.fixture
def writer(browser: Browser, world: World) -> Iterator[tuple[Page, Watch]]:
    context, page, watch = _context(browser, world)
    sign_in(page, world, world.service.api_key)
    yield page, watch
    assert_inert(page, watch)
    context.close()


def _csrf(page: Page) -> str:
    token = page.locator("input[name=csrf]").first.get_attribute("value")
    assert token
    return token


def test_sign_in_browse_scopes_and_timeline_shows_every_part_escaped(
    writer: tuple[Page, Watch], world: World
) -> None:
    page, watch = writer
    cookie = next(c for c in page.context.cookies() if c["name"] == "tessera_console")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert world.service.api_key not in cookie["value"]
    rows = page.locator("table.scopes tbody tr")
    assert rows.count() >= 3  # ada's three sessions
    assert "ada" in page.locator("table.scopes").inner_text()
    shoot(page, "console-scopes")

    page.fill("#user_id", "ada")
    page.click("form.find button")
    page.click("table.scopes a:text-is('ada')")
    page.wait_for_url("**/console/scope?user_id=ada")
    text = page.locator("main").inner_text()
    # The payloads are shown as the text they are, and did nothing.
    assert "<script>window.__pwned = 1;" in text
    assert 'onerror="window.__pwned = 2;' in text
    assert page.locator("main script").count() == 0
    assert page.locator("main img[src=x]").count() == 0
    # Episodes with their turns, portrait, foresight with its due date, procedure, image.
    assert page.locator("article.episode").count() >= 3
    assert "Berlin" in page.locator("section.portrait").inner_text() or "Lisbon" in text
    assert "2099-06-14" in page.locator("section.foresight").inner_text()
    assert "deploy the blog" in page.locator("section.procedures").inner_text()
    images = page.locator("section.images")
    assert "red fox" in images.inner_text()
    assert "<b>sketch</b>" in images.inner_text()
    # The caption's small data: image, and the uploaded image's thumbnail (its bytes are
    # not kept): both drawn, scaled to fit 96 pixels.
    assert images.locator("img.thumb").count() == 2
    widths = page.evaluate("[...document.querySelectorAll('img.thumb')].map(i => i.naturalWidth)")
    assert sorted(widths) == [24, 96]
    shoot(page, "console-scope")
    assert_inert(page, watch)


def test_timeline_pages_with_the_api_cursor(browser: Browser, world: World) -> None:
    from tessera_memory import Tessera

    with Tessera(api_key=world.service.api_key, base_url=world.base) as client:
        for i in range(30):
            client.memories.add(
                content=f"Note {i:02d} about the garden.",
                role="user",
                user_id="gardener",
                infer=False,
            )
    context, page, watch = _context(browser, world)
    sign_in(page, world, world.service.api_key)
    page.goto(f"{world.base}/console/scope?user_id=gardener")
    first = page.locator("article.episode p.text").all_inner_texts()
    assert first[0] == "Note 29 about the garden." and len(first) == 25
    page.click("a[rel=next]")
    second = page.locator("article.episode p.text").all_inner_texts()
    assert second == [f"Note {i:02d} about the garden." for i in range(4, -1, -1)]
    assert page.locator("a[rel=next]").count() == 0
    assert_inert(page, watch)
    context.close()


def test_facts_on_two_timelines_and_as_of(writer: tuple[Page, Watch], world: World) -> None:
    page, _ = writer
    page.goto(f"{world.base}/console/facts?user_id=ada")
    table = page.locator("table.facts")
    text = table.inner_text()
    assert "Berlin" in text and "Lisbon" in text
    berlin = page.locator("table.facts tr", has_text="lives in · Berlin")
    assert berlin.locator(".link-next a").count() == 1, "the Berlin fact links to its successor"
    assert "past" in (berlin.get_attribute("class") or "")
    assert (
        page.locator("table.facts svg rect.valid").count()
        == page.locator("table.facts tbody tr").count()
    )
    shoot(page, "console-facts")
    page.fill("input[name=as_of]", "2024-06-01T12:00")
    page.click("form.pickers button")
    page.wait_for_url(re.compile(r".*as_of=2024-06-01.*"))
    then = " ".join(page.locator("table.facts p.text").all_inner_texts())
    assert "Berlin" in then and "Lisbon" not in then
    assert page.locator("line.mark.as_of").count() >= 1


def test_search_shows_each_signal_and_the_agent_context(
    writer: tuple[Page, Watch], world: World
) -> None:
    page, _ = writer
    page.goto(f"{world.base}/console/search?user_id=ada")
    page.fill("input[name=q]", "where does ada live?")
    page.select_option("select[name=mode]", "chat")
    page.click("form.search button[type=submit]")
    hits = page.locator("article.hit")
    assert hits.count() >= 1
    first = hits.first.inner_text()
    assert "dense" in first and "fused (RRF)" in first
    assert "rerank feature" in first and "cosine" in first
    # For every hit, the rerank parts, the lift and the demotion add up to the score shown.
    for index in range(hits.count()):
        hit = hits.nth(index)
        shown = re.search(r"score (-?\d+\.\d+)", hit.inner_text())
        assert shown is not None
        parts = hit.locator(".signals table").nth(1).locator("tbody td.n").all_inner_texts()
        assert abs(sum(float(p) for p in parts) - float(shown.group(1))) < 2e-3
    context = page.locator("pre.context-text").inner_text()
    assert "Lisbon" in context or "Berlin" in context
    budget = page.locator("p.budget").inner_text()
    assert f"{len(context.split())} words" in budget and "8000 characters" in budget
    shoot(page, "console-search")


def test_pin_correct_forget_and_wipe_through_the_console(
    writer: tuple[Page, Watch], world: World
) -> None:
    from tessera_memory import Tessera

    page, _ = writer
    with Tessera(api_key=world.service.api_key, base_url=world.base) as client:
        _add(client, "grace", "g1", "user", "I live in Vienna.", at(2024, 3, 1))
        doomed = _add(client, "grace", "g1", "user", "My locker code is 4417.", at(2024, 3, 2))
        _add(client, "zed", "z1", "user", "I collect stamps.", at(2024, 3, 3))
    page.goto(f"{world.base}/console/scope?user_id=grace")
    episode = page.locator("article.episode", has_text="Vienna").first
    episode_id = episode.get_attribute("data-id")
    episode.locator("button[data-action=pin]").click()
    assert "Pinned" in page.locator(".done .result").inner_text()
    page.goto(f"{world.base}/console/scope?user_id=grace")
    assert page.locator(f"article.episode.pinned[data-id='{episode_id}']").count() == 1

    page.goto(f"{world.base}/console/facts?user_id=grace")
    page.locator("table.facts tr", has_text="Vienna").locator("a[data-action=correct]").click()
    page.fill("input[name=object]", "Graz")
    page.click("form.correct button")
    assert "Corrected" in page.locator(".done .result").inner_text()
    page.goto(f"{world.base}/console/facts?user_id=grace")
    current = page.locator("table.facts tr.current").inner_text()
    assert "Graz" in current and "Vienna" not in current
    assert page.locator("table.facts tr.past", has_text="Vienna").locator(".link-next").count() == 1

    page.goto(f"{world.base}/console/scope?user_id=grace")
    page.locator("li.turn", has_text="locker code").first.locator(
        "a[data-action=forget-turn]"
    ).click()
    cascade = page.locator("section.cascade").inner_text()
    assert re.search(r"1\s+turn", cascade) and re.search(r"1\s+episode", cascade)
    shoot(page, "console-forget")
    promised = [int(n) for n in page.locator("ul.counts b").all_inner_texts()]
    page.click("form button.danger")
    result = page.locator(".done .result").inner_text()
    assert "Forgot turn" in result
    done = [int(n) for n in re.findall(r"(\d+) (?:turn|episode|fact|foresight)", result)]
    assert done == promised, "the preview showed what forgetting then removed"
    page.goto(f"{world.base}/console/scope?user_id=grace")
    assert "locker code" not in page.locator("main").inner_text()
    with world.api() as api:
        found = api.post("/v1/search", json={"query": "locker code 4417", "user_id": "grace"})
        assert all("4417" not in r["text"] for r in found.json()["results"])
        gone = api.request("DELETE", f"/v1/memories/turns/{doomed}", json={"user_id": "grace"})
        assert gone.json()["turns_deleted"] == 0

    page.goto(f"{world.base}/console/wipe?session_id=z1")
    assert "across every user" in page.locator(".warning").inner_text()
    page.goto(f"{world.base}/console/wipe?user_id=zed")
    assert page.locator(".warning").count() == 0
    button = page.locator("form.wipe button.danger")
    assert button.is_disabled()
    page.fill("input[name=confirm]", "zed")
    assert button.is_enabled()
    shoot(page, "console-wipe")
    button.click()
    assert "Wiped zed" in page.locator(".done .result").inner_text()
    page.goto(f"{world.base}/console/scopes?user_id=zed")
    assert page.locator("table.scopes").count() == 0
    page.goto(f"{world.base}/console/jobs")
    assert page.locator("table.jobs, p.empty").count() == 1
    shoot(page, "console-jobs")


def test_a_wipe_with_the_wrong_confirmation_changes_nothing(
    writer: tuple[Page, Watch], world: World
) -> None:
    page, _ = writer
    page.goto(f"{world.base}/console/wipe?user_id=ada")
    token = _csrf(page)
    answer = page.request.post(
        f"{world.base}/console/wipe",
        form={"csrf": token, "user_id": "ada", "confirm": "ad"},
        headers={"Origin": world.base},
    )
    assert answer.status == 422 and "did not match" in answer.text()
    with world.api() as api:
        assert api.get("/v1/memories", params={"user_id": "ada"}).json()["items"]


def test_read_only_key_sees_no_write_controls_and_forged_writes_are_refused(
    browser: Browser, world: World
) -> None:
    context, page, watch = _context(browser, world)
    sign_in(page, world, world.read_only_key)
    assert "read-only" in page.locator("header.top").inner_text()
    for path in ("/console/scope?user_id=ada", "/console/facts?user_id=ada"):
        page.goto(world.base + path)
        controls = page.locator(
            "[data-action], form[action$='/pin'], form[action$='/wipe'], a[href*='/wipe']"
        )
        assert controls.count() == 0, f"{path} shows write controls to a read-only key"
    page.goto(f"{world.base}/console/search?user_id=ada")
    token = _csrf(page)  # the search form's token: a valid session token of this key
    with world.api() as api:
        listed = api.get("/v1/memories", params={"user_id": "ada"}).json()["items"]
    episode = next(
        i
        for i in listed
        if i["type"] == "episode"
        and not i["metadata"]["tessera"]["pinned"]
        and i["metadata"]["tessera"]["source_turn_ids"]
    )
    for action, form in (
        ("pin", {"id": episode["id"], "pinned": "1"}),
        ("wipe", {"confirm": "ada"}),
        ("forget-turn", {"turn_id": episode["metadata"]["tessera"]["source_turn_ids"][0]}),
    ):
        answer = page.request.post(
            f"{world.base}/console/{action}",
            form={"csrf": token, "user_id": "ada", **form},
            headers={"Origin": world.base},
        )
        assert answer.status == 403 and "read-only" in answer.text()
    with world.api() as api:
        after = api.get(f"/v1/memories/{episode['id']}", params={"user_id": "ada"}).json()
        assert after["metadata"]["tessera"]["pinned"] is False
        assert len(api.get("/v1/memories", params={"user_id": "ada"}).json()["items"]) == len(
            listed
        )
    assert_inert(page, watch)
    context.close()


def test_writes_without_the_token_or_from_another_site_are_refused(
    writer: tuple[Page, Watch], world: World
) -> None:
    page, _ = writer
    page.goto(f"{world.base}/console/scope?user_id=ada")
    token = _csrf(page)
    with world.api() as api:
        listed = api.get("/v1/memories", params={"user_id": "ada"}).json()["items"]
    episode = next(
        i for i in listed if i["type"] == "episode" and not i["metadata"]["tessera"]["pinned"]
    )
    attempts = [
        ({"id": episode["id"], "pinned": "1", "user_id": "ada"}, {"Origin": world.base}),
        (
            {"csrf": "0" * 64, "id": episode["id"], "pinned": "1", "user_id": "ada"},
            {"Origin": world.base},
        ),
        (
            {"csrf": token, "id": episode["id"], "pinned": "1", "user_id": "ada"},
            {"Origin": "https://attacker.example"},
        ),
    ]
    for form, headers in attempts:
        answer = page.request.post(f"{world.base}/console/pin", form=form, headers=headers)
        assert answer.status == 403
    with world.api() as api:
        after = api.get(f"/v1/memories/{episode['id']}", params={"user_id": "ada"}).json()
        assert after["metadata"]["tessera"]["pinned"] is False
    # Without a session cookie at all, a write goes nowhere but the sign-in page.
    anonymous = httpx.post(
        f"{world.base}/console/pin",
        data={"csrf": token, "id": episode["id"], "pinned": "1", "user_id": "ada"},
        headers={"Origin": world.base},
    )
    assert anonymous.status_code == 303 and anonymous.headers["location"].endswith("/login")


def test_another_tenants_ids_look_exactly_like_ids_that_never_existed(
    writer: tuple[Page, Watch], world: World
) -> None:
    page, _ = writer
    theirs, never = (
        world.other_ids,
        {
            "episode": "ep_00000000-0000-0000-0000-000000000000",
            "fact": "ft_00000000-0000-0000-0000-000000000000",
            "turn": "01J00000000000000000000000",
        },
    )
    pages = {
        "episode": "/console/item?user_id=ada&id={}",
        "fact": "/console/correct?user_id=ada&id={}",
        "turn": "/console/forget-turn?user_id=ada&turn_id={}",
    }
    for kind, template in pages.items():
        seen = []
        for ids in (theirs, never):
            answer = page.request.get(world.base + template.format(ids[kind]))
            assert answer.status == 404, (kind, answer.status)
            seen.append(answer.text())
        assert seen[0] == seen[1], f"a {kind} of another tenant is told apart from a missing one"
    page.goto(world.base + pages["episode"].format(theirs["episode"]))
    assert "Oslo" not in page.content()
    assert "Nothing with that id" in page.locator("main").inner_text()


def test_every_console_response_carries_the_strict_policy(world: World) -> None:
    with httpx.Client(base_url=world.base) as client:
        login = client.get("/console/login")
        policy = login.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy
        assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
        assert login.headers["x-content-type-options"] == "nosniff"
        refused = client.post("/console/login", data={"key": "tsk_live_" + "x" * 43})
        assert refused.status_code == 401 and "unknown or revoked" in refused.text
        assert "set-cookie" not in refused.headers
        assert client.get("/console/static/console.css").status_code == 200
        # The address the docs give, `/console`, only redirects, under the same policy.
        entry = client.get("/console")
        assert entry.is_redirect and entry.headers["content-security-policy"] == policy


def test_the_console_can_be_turned_off(tmp_path: Path) -> None:
    env = {"TESSERA_CONSOLE_ENABLED": "false"}
    with (
        run_service(tmp_path / "off", env=env) as service,
        httpx.Client(base_url=service.base_url) as client,
    ):
        assert client.get("/console/login").status_code == 404
        assert client.get("/console").status_code == 404
        assert client.post("/console/login", data={"key": service.api_key}).status_code == 404
        assert client.get("/health").status_code == 200
