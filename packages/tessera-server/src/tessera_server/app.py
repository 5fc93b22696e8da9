"""Assembling the service: runtime from settings, the FastAPI app, the in-process worker."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, MutableMapping
from contextlib import asynccontextmanager
from importlib import resources
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from threadpoolctl import threadpool_limits

from . import __version__
from .api import problems
from .api.deps import Principal, single_query_values
from .api.middleware import RequestContext
from .api.policy import Policy, declared, route_for
from .api.ratelimit import RateLimiter
from .api.routes import maintenance, memories, reads, skills
from .api.routes.common import operation_id
from .config import Settings, load_settings
from .engine.clock import utcnow
from .engine.extract import Extractor
from .engine.extract.offline import OfflineExtractor
from .engine.fairness import FairEmbedder, bulk_threads
from .engine.memory import Memory
from .engine.runtime import Runtime
from .engine.worker import Worker
from .heap import limit_arenas
from .providers.embedder import Embedder, load_embedder
from .providers.llm import OpenAICompatibleChat
from .providers.reranker import load_reranker
from .providers.vision import OpenAICompatibleCaptioner
from .providers.vision.ocr import BundledTextReader
from .store import open_store

log = logging.getLogger("tessera")

DESCRIPTION = (
    "Long-term memory for LLM agents: store conversational turns, consolidate them into "
    "episodes, facts and foresight, and retrieve ranked hits or a prompt-ready context."
)


def build_runtime(settings: Settings, *, background: bool = False) -> Runtime:
    """The runtime of an API process, or with `background` of a `tessera worker` process."""
    # numpy's BLAS, single-threaded: a request's products are small (a scope's vectors times
    # one query), and requests already run in parallel threads. With BLAS's own threads, eight
    # concurrent searches at 10k memories served 44 requests/s on two cores; without, 72.
    threadpool_limits(limits=1, user_api="blas")
    limit_arenas()
    fair = settings.fair_work_slots > 0
    threads = settings.embedder_threads
    if background and fair and not threads:
        # A worker process serves no interactive calls, so it needs no second instance of
        # the model: one, on the bulk lane's threads (a core left to the API processes beside
        # it, as the service's own bulk lane leaves one). With a lane of its own to load, each
        # worker paid 0.3 s of CPU (0.6 s wall) in its first large job: 9-11 ms per turn
        # consolidated when four workers drained 128 turns.
        threads = bulk_threads(0, os.cpu_count())
    embedder: Embedder = load_embedder(
        settings.embedder,
        settings.embedder_runtime,
        settings.embedder_precision,
        threads,
        settings.embedder_combine_texts,
        settings.embedder_crowded_lanes,
    )
    log.info("embedder %s on %s", embedder.model_id, embedder.runtime)
    if fair and background:
        # The gate still takes bulk chunks round-robin between tenants (`--threads N`).
        embedder = FairEmbedder(embedder, settings.fair_work_slots)
    elif fair:
        # Bulk work gets its own instance of the model on fewer threads (see fairness.py),
        # loaded on the first bulk call.
        def bulk_lane() -> Embedder:
            lane = load_embedder(
                settings.embedder,
                settings.embedder_runtime,
                settings.embedder_precision,
                bulk_threads(settings.embedder_threads, os.cpu_count()),
                settings.embedder_combine_texts,
                settings.embedder_crowded_lanes,
            )
            log.info("bulk embedding lane loaded")
            return lane

        embedder = FairEmbedder(embedder, settings.fair_work_slots, bulk_lane)
    store = open_store(settings, embedder.dim)
    store.migrate()
    offline = OfflineExtractor(learned=settings.offline_tagger)
    extractor: Extractor = offline
    llm = None
    if settings.llm_base_url:
        from .engine.extract.llm import LLMExtractor

        llm = OpenAICompatibleChat(
            settings.llm_base_url,
            settings.llm_api_key,
            settings.llm_model,
            settings.llm_timeout_seconds,
        )
        extractor = LLMExtractor(llm, offline)
    captioner = None
    if settings.vision_base_url:
        captioner = OpenAICompatibleCaptioner(
            settings.vision_base_url, settings.vision_api_key, settings.vision_model
        )
    return Runtime(
        settings,
        store,
        embedder,
        extractor,
        load_reranker("local", settings.reranker_model_dir),
        llm,
        captioner,
        BundledTextReader() if settings.ocr_enabled and captioner is None else None,
    )


# Reference-compatible schema names where FastAPI would otherwise derive one.
_RENAMES = {
    "Body_resources-remember_resource_file": "ResourceUpload",
}


def _openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title="Tessera", version=__version__, description=DESCRIPTION, routes=app.routes
    )
    schemas = schema.get("components", {}).get("schemas", {})
    for old, new in _RENAMES.items():
        if old in schemas:
            schemas[new] = schemas.pop(old)
            schemas[new]["title"] = new
    text_replace(
        schema,
        {f"#/components/schemas/{o}": f"#/components/schemas/{n}" for o, n in _RENAMES.items()},
    )
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            if "requestBody" in operation:
                operation["responses"] = _with_415(operation["responses"])
    app.openapi_schema = schema
    return schema


def _with_415(responses: dict[str, Any]) -> dict[str, Any]:
    """Every operation with a body can answer 415: its route's policy checks the media type
    before the body is read (see `api/policy.py`), so the contract says so for each."""
    unsupported = {
        "description": "Unsupported Media Type",
        "content": {
            "application/problem+json": {},
            "application/json": {"schema": {"$ref": "#/components/schemas/ProblemDetail"}},
        },
    }
    entries = {**responses, "415": unsupported}
    # Success codes first, as declared; then the errors in numeric order.
    ok = [code for code in responses if code.startswith("2")]
    failed = sorted((code for code in entries if not code.startswith("2")), key=int)
    return {code: entries[code] for code in [*ok, *failed]}


def text_replace(node: Any, mapping: dict[str, str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and value in mapping:
                node[key] = mapping[value]
            else:
                text_replace(value, mapping)
    elif isinstance(node, list):
        for value in node:
            text_replace(value, mapping)


ROUTERS = (memories, reads, skills, maintenance)


def _policy_of(routes: list[APIRoute], scope: MutableMapping[str, Any]) -> Policy | None:
    route = route_for(routes, scope)
    return None if route is None else declared(route)


def create_app(
    settings: Settings | None = None,
    *,
    runtime: Runtime | None = None,
    local_tenant: str | None = None,
) -> FastAPI:
    """The service as an ASGI app.

    `local_tenant` is for the SDK's in-process mode (`Tessera.local`): the app is called
    only from inside the process that made it, never bound to a port, so every request acts
    as that tenant without a key. The same tenant is reached later through `tessera serve`
    with a key made by `tessera keys create --tenant <name>`.
    """
    settings = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        rt = runtime or build_runtime(settings)
        app.state.memory = Memory(rt)
        if local_tenant is not None:
            tenant_id, _ = rt.store.ensure_tenant(local_tenant, utcnow())
            app.state.local_principal = Principal(
                tenant_id, "local", False, settings.max_label_chars
            )
        worker = None
        if settings.worker_enabled:
            recovered = rt.store.recover_interrupted_jobs(utcnow())
            if recovered:
                log.info("requeued %d interrupted job(s)", recovered)
            worker = Worker(rt)
            worker.start()
        try:
            yield
        finally:
            if worker is not None:
                worker.stop()
            rt.store.close()

    app = FastAPI(
        title="Tessera",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        # The contract (`/openapi.json`) and its browsable pages (`/docs`, `/redoc`, served
        # below from assets shipped in a package, no CDN) answer without a key, like `/health`
        # and `/ready`: they describe the API and hold no memory (see SECURITY.md). No OAuth
        # flow exists, so no OAuth redirect page either.
        docs_url=None,
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
        # No 307 from `/v1/memories/` to `/v1/memories`: an empty id must never be
        # redirected onto the scope-wide list or wipe; it is a plain 404 problem.
        redirect_slashes=False,
        dependencies=[Depends(single_query_values)],
        generate_unique_id_function=operation_id,
    )
    app.state.docs_url = settings.docs_url.rstrip("/")
    app.state.rate_limiter = RateLimiter(
        settings.rate_limit_per_minute, bytes_per_minute=settings.work_budget_bytes_per_minute
    )
    problems.install(app)
    for module in ROUTERS:
        app.include_router(module.router)
    # The API's routes as declared (the app wraps included routers in its own objects).
    api_routes = [r for m in ROUTERS for r in m.router.routes if isinstance(r, APIRoute)]
    app.add_middleware(
        RequestContext,
        max_body=settings.max_body_bytes,
        max_upload=settings.max_upload_bytes,
        policy_of=lambda scope: _policy_of(api_routes, scope),
        docs_url=app.state.docs_url,
    )
    if settings.console_enabled:
        from . import console

        console.mount(app)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    install_docs(app, settings.docs_url.rstrip("/"))
    return app


def install_docs(app: FastAPI, site: str) -> None:
    """`/docs` (Swagger UI) and `/redoc` that work offline, and `GET /` pointing at them.

    FastAPI's own pages load their scripts from a CDN, so they are blank without internet;
    these use the copies of the same assets that the `fastapi-offline` package ships.
    """
    assets = resources.files("fastapi_offline") / "static"
    local = "/docs/assets"
    page: dict[str, Any] = {"openapi_url": "/openapi.json", "title": "Tessera API"}
    app.mount(local, StaticFiles(directory=str(assets)), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def swagger() -> HTMLResponse:
        return get_swagger_ui_html(
            **page,
            swagger_js_url=f"{local}/swagger-ui-bundle.js",
            swagger_css_url=f"{local}/swagger-ui.css",
            swagger_favicon_url=f"{local}/favicon.png",
        )

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return get_redoc_html(
            **page,
            redoc_js_url=f"{local}/redoc.standalone.js",
            redoc_favicon_url=f"{local}/favicon.png",
            with_google_fonts=False,
        )

    @app.get("/", include_in_schema=False)
    def root(request: Request) -> dict[str, str]:
        engine = getattr(request.app.state, "memory", None)
        return {
            "service": "Tessera",
            "version": __version__,
            "extractor": engine.runtime.extractor_label if engine is not None else "starting",
            "api_reference": "/docs",
            "redoc": "/redoc",
            "openapi": "/openapi.json",
            "health": "/health",
            "documentation": site,
        }
