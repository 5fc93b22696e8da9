"""Pages from templates, with the headers every console response carries.

Jinja2 escapes every value (autoescape on for all templates): memory content is whatever
users and web pages told an agent, so it is text, never markup. The Content-Security-Policy
allows scripts, styles and images from the console itself only (and `data:` images for
thumbnails): no inline script or style, no other host, no framing.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined

HERE = Path(__file__).parent
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def when(value: datetime | None) -> str:
    if value is None:
        return "—"
    return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def day(value: datetime | None) -> str:
    if value is None:
        return "—"
    return value.astimezone(timezone.utc).strftime("%Y-%m-%d")


def pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)


def query(**params: Any) -> str:
    """A query string of the given non-empty parameters (values encoded, never markup)."""
    return urlencode({k: v for k, v in params.items() if v not in (None, "")})


def number(value: float, digits: int = 3) -> str:
    return f"{value:.{digits}f}"


ENV = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
ENV.filters.update(when=when, day=day, pretty_json=pretty_json, number=number)
ENV.globals.update(query=query)


def page(name: str, status: int = 200, **context: Any) -> HTMLResponse:
    html = ENV.get_template(name).render(**context)
    return HTMLResponse(html, status_code=status, headers=HEADERS)
