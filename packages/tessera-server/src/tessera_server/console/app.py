"""The memory console: server-rendered pages over the engine, mounted at `/console`.

Every page reads and every action writes through the same `Memory` calls as the HTTP API
(`pin`, `correct`, `forget_turn`, `wipe`, `search`, `query`, `list`), so what the console
shows and does is what an agent's calls see and do. It never touches the store.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, Form, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from ..api.routes.memories import decode_cursor, encode_cursor
from ..engine.compose import CHARS_PER_TOKEN, CONTEXT_TOKEN_BUDGET
from ..engine.errors import EngineError, InvalidInput, NotFound
from ..engine.ids import item_kind
from ..engine.memory import require_aware
from ..engine.records import Scope
from ..engine.retrieval import SearchParams
from ..store.protocol import StoreBusy
from . import session as sessions
from .facts import timelines
from .guard import (
    Label,
    OptText,
    Reading,
    Refused,
    SignInNeeded,
    Writing,
    engine,
    same_site,
    scope_of,
    signed_in,
)
from .render import HEADERS, page, query
from .session import Session

PAGE_SIZE = 25
SCOPES_LIMIT = 200
FACTS_LIMIT = 200
JOBS_LIMIT = 100
NOT_FOUND = "Nothing with that id exists in this scope."

Text = Annotated[str, Form(max_length=100_000)]
ItemId = Annotated[str, Query(max_length=200)]
TurnId = Annotated[str, Query(max_length=1024)]
FormItemId = Annotated[str, Form(max_length=200)]
FormTurnId = Annotated[str, Form(max_length=1024)]


def scope_label(scope: Scope) -> str:
    """What a person types to confirm a wipe: the scope's labels as the pages show them."""
    if scope.user_id is not None and scope.session_id is not None:
        return f"{scope.user_id}/{scope.session_id}"
    return scope.user_id or scope.session_id or ""


def _instant(value: str | None, name: str) -> datetime | None:
    """A datetime-local picker's value (taken as UTC) or a full ISO 8601 instant."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"`{name}` is not a date and time (e.g. 2024-05-01T12:00)") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return require_aware(parsed, name)


def build(parent: FastAPI) -> FastAPI:
    """The console application; `parent` is the service whose engine it uses."""
    console = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    console.state.parent = parent
    console.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    _errors(console)
    _pages(console)
    _actions(console)
    return console


def _base(request: Request) -> str:
    return str(request.scope.get("root_path", "")).rstrip("/")


def _common(
    request: Request, current: Session | None, scope: Scope | None = None
) -> dict[str, Any]:
    """What every template reads: where the console lives, the session, the scope if any."""
    out: dict[str, Any] = {"base": _base(request), "session": current, "scope": None}
    if scope is not None:
        out.update(_scope_ctx(scope))
    return out


def _scope_ctx(scope: Scope) -> dict[str, Any]:
    return {
        "scope": scope,
        "scope_q": {"user_id": scope.user_id or "", "session_id": scope.session_id or ""},
        "scope_qs": query(user_id=scope.user_id, session_id=scope.session_id),
        "scope_name": scope_label(scope),
    }


def _errors(console: FastAPI) -> None:
    @console.exception_handler(SignInNeeded)
    async def _sign_in(request: Request, exc: SignInNeeded) -> Response:
        return RedirectResponse(f"{_base(request)}/login", status_code=303, headers=HEADERS)

    @console.exception_handler(Refused)
    async def _refused(request: Request, exc: Refused) -> Response:
        return page(
            "message.html", exc.status, **_common(request, None), title="Refused", text=exc.reason
        )

    @console.exception_handler(NotFound)
    async def _not_found(request: Request, exc: NotFound) -> Response:
        # One page for every id the caller may not see: another tenant's ids and ids that
        # never existed are indistinguishable.
        return page(
            "message.html", 404, **_common(request, None), title="Not found", text=NOT_FOUND
        )

    @console.exception_handler(EngineError)
    async def _engine(request: Request, exc: EngineError) -> Response:
        return page(
            "message.html", exc.status, **_common(request, None), title=exc.title, text=exc.detail
        )

    @console.exception_handler(StoreBusy)
    async def _busy(request: Request, exc: StoreBusy) -> Response:
        return page(
            "message.html",
            503,
            **_common(request, None),
            title="Busy",
            text="The database was busy with other writes; nothing changed. Try again.",
        )

    @console.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        fields = sorted({str(e["loc"][-1]) for e in exc.errors() if e.get("loc")})
        return page(
            "message.html",
            422,
            **_common(request, None),
            title="Invalid input",
            text=f"Check these fields: {', '.join(fields) or 'the form'}.",
        )

    @console.exception_handler(404)
    async def _no_page(request: Request, exc: Exception) -> Response:
        return page(
            "message.html", 404, **_common(request, None), title="Not found", text=NOT_FOUND
        )


def _pages(console: FastAPI) -> None:
    @console.get("/", include_in_schema=False)
    def home(request: Request) -> Response:
        target = (
            "scopes"
            if sessions.read(engine(request), request.cookies.get(sessions.COOKIE))
            else "login"
        )
        return RedirectResponse(f"{_base(request)}/{target}", status_code=303, headers=HEADERS)

    @console.get("/login", include_in_schema=False)
    def login_form(request: Request) -> HTMLResponse:
        return page("login.html", **_common(request, None), failed=False)

    @console.get("/scopes", include_in_schema=False)
    def scopes(request: Request, user_id: Label = None) -> HTMLResponse:
        current = signed_in(request)
        memory = engine(request)
        wanted = user_id.strip() if user_id else None
        rows = memory.scopes(current.holder.tenant_id, wanted or None, SCOPES_LIMIT)
        return page(
            "scopes.html",
            **_common(request, current),
            rows=rows,
            wanted=wanted or "",
            limit=SCOPES_LIMIT,
        )

    @console.get("/scope", include_in_schema=False)
    def scope_page(
        request: Request,
        seat: Reading,
        cursor: Annotated[str | None, Query(max_length=600)] = None,
    ) -> HTMLResponse:
        current, scope = seat
        memory = engine(request)
        timeline = memory.timeline(
            scope, decode_cursor(cursor, scope) if cursor else None, PAGE_SIZE
        )
        nxt = timeline.page.next_cursor
        return page(
            "scope.html",
            **_common(request, current, scope),
            timeline=timeline,
            sides=memory.sides(scope),
            first_page=cursor is None,
            next_cursor=encode_cursor(nxt, scope) if nxt else None,
        )

    @console.get("/item", include_in_schema=False)
    def item_page(request: Request, id: ItemId, seat: Reading) -> HTMLResponse:
        current, scope = seat
        memory = engine(request)
        item = memory.get(scope, id)
        turns = []
        if item.type == "episode":
            turns = memory.episode_turns(scope, [item.id]).get(item.id, [])
        return page("item.html", **_common(request, current, scope), item=item, turns=turns)

    @console.get("/facts", include_in_schema=False)
    def facts_page(
        request: Request,
        seat: Reading,
        as_of: Annotated[str | None, Query(max_length=64)] = None,
        known_as_of: Annotated[str | None, Query(max_length=64)] = None,
    ) -> HTMLResponse:
        current, scope = seat
        memory = engine(request)
        at, known = _instant(as_of, "as_of"), _instant(known_as_of, "known_as_of")
        facts, linked = memory.fact_history(scope, at, known, FACTS_LIMIT)
        return page(
            "facts.html",
            **_common(request, current, scope),
            rows=timelines(facts, at, known),
            linked=linked,
            as_of=as_of or "",
            known_as_of=known_as_of or "",
            limit=FACTS_LIMIT,
        )

    @console.get("/search", include_in_schema=False)
    def search_form(request: Request, seat: Reading) -> HTMLResponse:
        current, scope = seat
        return page(
            "search.html",
            **_common(request, current, scope),
            form=_search_defaults(engine(request).settings.default_top_k),
            hits=None,
            composed=None,
        )

    @console.get("/jobs", include_in_schema=False)
    def jobs_page(request: Request) -> HTMLResponse:
        current = signed_in(request)
        jobs = engine(request).recent_jobs(current.holder.tenant_id, JOBS_LIMIT)
        return page("jobs.html", **_common(request, current), jobs=jobs, limit=JOBS_LIMIT)

    @console.get("/correct", include_in_schema=False)
    def correct_form(request: Request, id: ItemId, seat: Reading) -> HTMLResponse:
        current, scope = seat
        if item_kind(id) != "fact":
            raise NotFound(NOT_FOUND)
        item = engine(request).get(scope, id)
        return page("correct.html", **_common(request, current, scope), item=item)

    @console.get("/forget-turn", include_in_schema=False)
    def forget_turn_preview(request: Request, turn_id: TurnId, seat: Reading) -> HTMLResponse:
        current, scope = seat
        memory = engine(request)
        turn = memory.turn(scope, turn_id)
        cascade = memory.preview_forget_turn(scope, turn_id)
        if cascade is None:
            raise NotFound(NOT_FOUND)
        return page(
            "forget_turn.html",
            **_common(request, current, scope),
            turn=turn,
            cascade=cascade,
        )

    @console.get("/wipe", include_in_schema=False)
    def wipe_confirm(request: Request, seat: Reading) -> HTMLResponse:
        current, scope = seat
        memory = engine(request)
        users = memory.users_in(scope) if scope.user_id is None else []
        rows = memory.scopes(current.holder.tenant_id, scope.user_id, SCOPES_LIMIT)
        if scope.session_id is not None:
            rows = [r for r in rows if r.session_id == scope.session_id]
        return page(
            "wipe.html",
            **_common(request, current, scope),
            users=users,
            rows=rows,
            mismatch=False,
        )


def _search_defaults(top_k: int) -> dict[str, Any]:
    return {
        "q": "",
        "top_k": top_k,
        "as_of": "",
        "known_as_of": "",
        "episodes": True,
        "facts": True,
        "rerank": True,
        "filters": "",
        "mode": "reasoning",
    }


def _actions(console: FastAPI) -> None:
    @console.post("/login", include_in_schema=False)
    def login(request: Request, key: Annotated[str, Form(max_length=300)]) -> Response:
        if not same_site(request):
            raise Refused(403, "This sign-in came from another site; it was not accepted.")
        issued = sessions.issue(
            engine(request), key.strip(), engine(request).settings.console_session_hours
        )
        if issued is None:
            return page("login.html", 401, **_common(request, None), failed=True)
        _, cookie = issued
        response = RedirectResponse(f"{_base(request)}/scopes", status_code=303, headers=HEADERS)
        response.set_cookie(
            sessions.COOKIE,
            cookie,
            max_age=int(engine(request).settings.console_session_hours * 3600),
            path=_base(request) or "/",
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        return response

    @console.post("/logout", include_in_schema=False)
    def logout(request: Request, csrf: OptText = None) -> Response:
        current = signed_in(request)
        if not sessions.csrf_ok(current, csrf):
            raise Refused(403, "This form did not come from the console; you are still signed in.")
        response = RedirectResponse(f"{_base(request)}/login", status_code=303, headers=HEADERS)
        response.delete_cookie(sessions.COOKIE, path=_base(request) or "/")
        return response

    @console.post("/search", include_in_schema=False)
    def search(
        request: Request,
        q: Text,
        csrf: OptText = None,
        user_id: OptText = None,
        session_id: OptText = None,
        top_k: Annotated[int, Form()] = 10,
        as_of: OptText = None,
        known_as_of: OptText = None,
        episodes: OptText = None,
        facts: OptText = None,
        rerank: OptText = None,
        filters: OptText = None,
        mode: OptText = None,
    ) -> HTMLResponse:
        # A read, but posted so the query (memory-like text) stays out of URLs and logs;
        # the CSRF token keeps other sites from running searches in a signed-in browser.
        current = signed_in(request)
        if not sessions.csrf_ok(current, csrf):
            raise Refused(403, "This form did not come from the console; nothing was searched.")
        memory = engine(request)
        scope = scope_of(request, current, user_id, session_id)
        context_mode = "chat" if mode == "chat" else "reasoning"
        form: dict[str, Any] = {
            "q": q,
            "top_k": top_k,
            "as_of": as_of or "",
            "known_as_of": known_as_of or "",
            "episodes": bool(episodes),
            "facts": bool(facts),
            "rerank": bool(rerank),
            "filters": filters or "",
            "mode": context_mode,
        }
        settings = memory.settings
        if top_k < 1 or top_k > settings.max_top_k:
            raise InvalidInput(f"`top_k` must be between 1 and {settings.max_top_k}")
        types = tuple(t for t, on in (("episode", form["episodes"]), ("fact", form["facts"])) if on)
        if not types:
            raise InvalidInput("choose episodes, facts or both")
        clauses = _filters(filters)
        at, known = _instant(as_of, "as_of"), _instant(known_as_of, "known_as_of")
        params = SearchParams(q, top_k, bool(rerank), at, known, types, clauses, explain=True)
        hits = memory.search(scope, params)
        # The agent's `query` always reranks over both types; when the form asked for the
        # same, its hits are that search's, so it is not run twice.
        agent = SearchParams(q, top_k, True, at, known, ("episode", "fact"), clauses)
        same = params.rerank and set(types) == {"episode", "fact"}
        composed = memory.query(scope, agent, context_mode, hits if same else None)
        budget = CONTEXT_TOKEN_BUDGET * CHARS_PER_TOKEN
        return page(
            "search.html",
            **_common(request, current, scope),
            form=form,
            hits=hits,
            composed=composed,
            words=len(composed.context.split()),
            chars=len(composed.context),
            budget_chars=budget,
            budget_tokens=CONTEXT_TOKEN_BUDGET,
            budget_words=int(budget / 5.5),
        )

    @console.post("/pin", include_in_schema=False)
    def pin(
        request: Request,
        id: FormItemId,
        pinned: Annotated[str, Form(max_length=5)],
        seat: Writing,
    ) -> HTMLResponse:
        current, scope = seat
        memory = engine(request)
        memory.get(scope, id)  # the same not-found page for ids this scope does not hold
        want = pinned == "1"
        changed = memory.pin(scope, id, want)
        verb = "Pinned" if want else "Unpinned"
        text = (
            f"{verb} {id}."
            if changed
            else f"{id} was already {'pinned' if want else 'not pinned'}."
        )
        return _done(request, current, scope, text, item_id=id)

    @console.post("/correct", include_in_schema=False)
    def correct(
        request: Request,
        id: FormItemId,
        object: Text,
        seat: Writing,
        confidence: Annotated[float, Form()] = 1.0,
        t_valid: OptText = None,
    ) -> HTMLResponse:
        current, scope = seat
        new = engine(request).correct(
            scope, id, obj=object, confidence=confidence, t_valid=_instant(t_valid, "t_valid")
        )
        return _done(
            request,
            current,
            scope,
            f"Corrected: {id} now ends; {new.id} says “{new.text}”.",
            item_id=new.id,
        )

    @console.post("/forget-turn", include_in_schema=False)
    def forget_turn(request: Request, turn_id: FormTurnId, seat: Writing) -> HTMLResponse:
        current, scope = seat
        counts = engine(request).forget_turn(scope, turn_id)
        text = (
            f"Forgot turn {turn_id}: {counts.turns} turn(s), {counts.episodes} episode(s), "
            f"{counts.facts} fact(s) and {counts.foresight} foresight item(s) removed."
        )
        return _done(request, current, scope, text)

    @console.post("/wipe", include_in_schema=False)
    def wipe(
        request: Request,
        seat: Writing,
        confirm: Annotated[str, Form(max_length=3000)] = "",
    ) -> HTMLResponse:
        current, scope = seat
        memory = engine(request)
        if confirm != scope_label(scope):
            users = memory.users_in(scope) if scope.user_id is None else []
            return page(
                "wipe.html",
                422,
                **_common(request, current, scope),
                users=users,
                rows=[],
                mismatch=True,
            )
        total = memory.wipe(scope)
        return _done(request, current, scope, f"Wiped {scope_label(scope)}: {total} row(s) erased.")


def _filters(text: str | None) -> list[dict[str, object]]:
    if not text or not text.strip():
        return []
    try:
        value = json.loads(text)
    except ValueError:
        raise InvalidInput(
            'filters must be a JSON list such as [{"field": "role", "op": "eq", "value": "user"}]'
        ) from None
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise InvalidInput("filters must be a JSON list of {field, op, value} objects")
    return value


def _done(
    request: Request, current: Session, scope: Scope, text: str, item_id: str | None = None
) -> HTMLResponse:
    return page("done.html", **_common(request, current, scope), text=text, item_id=item_id)
