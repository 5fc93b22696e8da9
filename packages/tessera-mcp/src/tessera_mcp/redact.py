"""Remove secrets from text before it leaves the machine.

Used on session transcripts before the opt-in upload at session end. It errs on the side of
removing too much: a redacted ``PORT=3000`` costs nothing, a leaked key costs a rotation.

What it removes:

* private key blocks (``-----BEGIN ... PRIVATE KEY-----`` to the matching END, or to the end of
  the text when the block is cut off);
* API keys and tokens with a recognisable shape: Tessera, OpenAI, Anthropic, AWS access key
  ids, GitHub, GitLab, Slack, Google, Stripe, Hugging Face, npm, PyPI, SendGrid, JWTs;
* bearer/basic credentials in ``Authorization`` headers and ``Bearer <token>`` phrases;
* passwords in URLs (``postgres://user:pw@host``);
* the value of any assignment whose name mentions a password, secret, token, key or credential
  (``password = "..."``, ``"client_secret": "..."``, ``--token=...``, ``export GITHUB_TOKEN=...``);
* ``.env``-style lines (``NAME=value`` at the start of a line, upper-case name): the value is
  dropped whatever the name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MARK = "[REDACTED]"
_NOT_MARK = r"(?!\[REDACTED\])"

_PRIVATE_KEY_BLOCK = re.compile(
    r"-----BEGIN (?P<kind>[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?)-----"
    r"(?:.*?-----END (?P=kind)-----|.*\Z)",
    re.DOTALL,
)

# Tokens whose shape alone gives them away. Each is matched as a whole word-ish run.
_TOKEN_PATTERNS: tuple[re.Pattern[str], ...] = tuple(
    re.compile(p)
    for p in (
        r"\btsk_(?:live|test)_[A-Za-z0-9_\-]{8,}",  # Tessera
        r"\bsk-ant-[A-Za-z0-9_\-]{16,}",  # Anthropic
        r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}",  # OpenAI and look-alikes
        r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA)[A-Z0-9]{16}\b",  # AWS access key ids
        r"\bgh[pousr]_[A-Za-z0-9]{30,}",  # GitHub tokens
        r"\bgithub_pat_[A-Za-z0-9_]{22,}",  # GitHub fine-grained tokens
        r"\bglpat-[A-Za-z0-9_\-]{20,}",  # GitLab
        r"\bxox[abposr]-[A-Za-z0-9\-]{10,}",  # Slack tokens
        r"https://hooks\.slack\.com/services/[A-Za-z0-9/_\-]+",  # Slack webhooks
        r"\bAIza[0-9A-Za-z_\-]{35}",  # Google API keys
        r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}",  # Stripe secret/restricted keys
        r"\bhf_[A-Za-z0-9]{30,}",  # Hugging Face
        r"\bnpm_[A-Za-z0-9]{36}\b",  # npm
        r"\bpypi-[A-Za-z0-9_\-]{40,}",  # PyPI
        r"\bSG\.[A-Za-z0-9_\-]{16,}\.[A-Za-z0-9_\-]{16,}",  # SendGrid
        r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}",  # JWTs
    )
)

# "Authorization: Bearer abc", "Authorization: Basic abc=", "bearer abc" in prose or curl.
_AUTH_HEADER = re.compile(
    r"(?P<lead>\b(?:Proxy-)?Authorization\s*[:=]\s*[\"']?)(?:(?P<scheme>Bearer|Basic|Token|Digest)\s+)?"
    r"(?P<value>[^\s\"',;]+)",
    re.IGNORECASE,
)
_BEARER = re.compile(r"(?P<lead>\bBearer\s+)(?P<value>[A-Za-z0-9._~+/\-]{8,}=*)", re.IGNORECASE)

# scheme://user:password@host
_URL_PASSWORD = re.compile(r"(?P<lead>\b[a-z][a-z0-9+.\-]*://[^\s:/@]*:)(?P<value>[^\s@/]+)(?=@)")

_SECRET_WORD = (
    r"(?:pass(?:word|wd|phrase)?|pwd|secret|token(?!s)|api[_\-]?key|apikey|access[_\-]?key"
    r"|private[_\-]?key|secret[_\-]?key|credentials?|client[_\-]?secret|session[_\-]?key"
    r"|signing[_\-]?key|encryption[_\-]?key|auth[_\-]?key|dsn)"
)
_NAME = rf"[A-Za-z0-9_.\-]*{_SECRET_WORD}[A-Za-z0-9_.\-]*"

# name = value, name: value, "name": "value", name => value (quoted or bare values).
_ASSIGNMENT = re.compile(
    rf"(?P<lead>(?P<q>[\"']?)\b{_NAME}(?P=q)\s*(?::=|=>|=|:)\s*)"
    rf"{_NOT_MARK}(?P<value>\"(?:[^\"\\\n]|\\.)*\"|'[^'\n]*'|[^\s,;}}\]\)]+)",
    re.IGNORECASE,
)
# --password hunter2, --api-key=abc
_FLAG = re.compile(
    rf"(?P<lead>--?{_NAME}(?:=|\s+)){_NOT_MARK}(?P<value>\"[^\"\n]*\"|'[^'\n]*'|[^\s\-][^\s]*)",
    re.IGNORECASE,
)
# .env-style: NAME=value at the start of a line (optionally after `export`).
_ENV_LINE = re.compile(
    r"^(?P<lead>[ \t]*(?:export[ \t]+)?[A-Z_][A-Z0-9_]*=)(?!\[REDACTED\]$)(?P<value>[^\n]*\S[^\n]*)$",
    re.MULTILINE,
)


def _keep_lead(match: re.Match[str]) -> str:
    value = match.group("value")
    if value.strip("\"'") == MARK or value == "":
        return match.group(0)
    quote = value[0] if value[:1] in {'"', "'"} and value[-1:] == value[:1] else ""
    return f"{match.group('lead')}{quote}{MARK}{quote}"


def _auth_header(match: re.Match[str]) -> str:
    scheme = match.group("scheme")
    lead = match.group("lead") + (f"{scheme} " if scheme else "")
    return f"{lead}{MARK}"


def redact(text: str, known_secrets: Iterable[str] = ()) -> str:
    """Return ``text`` with secrets replaced by ``[REDACTED]``.

    ``known_secrets`` are literal strings to remove wherever they appear (for example the API key
    the caller itself is using), in addition to everything the patterns catch.
    """
    if not text:
        return text
    for secret in sorted({s for s in known_secrets if s and len(s) >= 6}, key=len, reverse=True):
        text = text.replace(secret, MARK)
    text = _PRIVATE_KEY_BLOCK.sub(f"-----{MARK} PRIVATE KEY-----", text)
    text = _URL_PASSWORD.sub(_keep_lead, text)
    text = _AUTH_HEADER.sub(_auth_header, text)
    text = _BEARER.sub(_keep_lead, text)
    for pattern in _TOKEN_PATTERNS:
        text = pattern.sub(MARK, text)
    text = _FLAG.sub(_keep_lead, text)
    text = _ASSIGNMENT.sub(_keep_lead, text)
    text = _ENV_LINE.sub(_keep_lead, text)
    return text
