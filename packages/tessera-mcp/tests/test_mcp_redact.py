"""The secret redactor, on single snippets and on realistic Claude Code transcripts.

Fake credentials are assembled at run time so that no token-shaped literal sits in the source
(secret scanners would rightly complain about one).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tessera_mcp.redact import MARK, redact
from tessera_mcp.transcript import parse_lines, read_transcript


def fake(prefix: str, length: int = 40, alphabet: str = "aB3dE5gH7jK9mN1pQ2sT4vW6yZ8") -> str:
    body = (alphabet * (length // len(alphabet) + 1))[:length]
    return prefix + body


TESSERA = fake("tsk_" + "live_", 32)
OPENAI = fake("sk-" + "proj-", 48)
ANTHROPIC = fake("sk-" + "ant-api03-", 60)
AWS_ID = "AKIA" + "Q3EXAMPLE7TESTKEY".upper()[:16]
AWS_SECRET = fake("", 40, "wJalrXUtnFEMIK7MDENGbPxRfiCY")
GITHUB = fake("gh" + "p_", 36)
GITHUB_PAT = fake("github" + "_pat_", 60)
GITLAB = fake("gl" + "pat-", 20)
SLACK = fake("xo" + "xb-", 40, "1234567890-abcdefghij")
GOOGLE = fake("AI" + "za", 35)
STRIPE = fake("sk" + "_live_", 24)
HF = fake("h" + "f_", 34)
JWT = ".".join([fake("ey" + "J", 20), fake("ey" + "J", 30), fake("", 25, "sIgNaTuRe0123456789")])
PEM = (
    "-----BEGIN "
    + "OPENSSH PRIVATE KEY-----\n"
    + "\n".join(fake("", 64, "b3BlbnNzaC1rZXktdjEAAAAABG5vbmU") for _ in range(4))
    + "\n-----END "
    + "OPENSSH PRIVATE KEY-----"
)

ALL_SECRETS = [
    TESSERA,
    OPENAI,
    ANTHROPIC,
    AWS_ID,
    AWS_SECRET,
    GITHUB,
    GITHUB_PAT,
    GITLAB,
    SLACK,
    GOOGLE,
    STRIPE,
    HF,
    JWT,
    "hunter2-correct-horse",
    "pg-Pa55word!",
    "s3cr3t-client-value",
]


@pytest.mark.parametrize(
    "secret",
    [
        TESSERA,
        OPENAI,
        ANTHROPIC,
        AWS_ID,
        GITHUB,
        GITHUB_PAT,
        GITLAB,
        SLACK,
        GOOGLE,
        STRIPE,
        HF,
        JWT,
    ],
)
def test_provider_keys_are_removed_in_prose(secret: str) -> None:
    text = f"I set the key to {secret} and it worked."
    cleaned = redact(text)
    assert secret not in cleaned
    assert cleaned.startswith("I set the key to ")
    assert cleaned.endswith(" and it worked.")


def test_private_key_block_is_removed_whole() -> None:
    cleaned = redact(f"Here is the deploy key:\n{PEM}\nUse it carefully.")
    assert "b3BlbnNzaC1rZXkt" not in cleaned
    assert "Here is the deploy key:" in cleaned and "Use it carefully." in cleaned


def test_truncated_private_key_block_is_removed_to_the_end() -> None:
    cut = PEM.split("-----END")[0][:150]
    cleaned = redact(f"partial paste: {cut}")
    assert "b3BlbnNzaC1rZXkt" not in cleaned
    assert cleaned.startswith("partial paste: ")


def test_authorization_headers_and_bearer_tokens() -> None:
    token = fake("", 32, "opaqueTOKENvalue_123")
    curl = f'curl -H "Authorization: Bearer {token}" https://api.example.com/v1/things'
    cleaned = redact(curl)
    assert token not in cleaned
    assert "Authorization: Bearer [REDACTED]" in cleaned
    assert "https://api.example.com/v1/things" in cleaned
    assert token not in redact(f"Authorization: Basic {token}==")
    assert token not in redact(f"then pass bearer {token} to the proxy")


def test_passwords_in_urls() -> None:
    cleaned = redact("DATABASE is postgres://app:pg-Pa55word!@db.internal:5432/app")
    assert "pg-Pa55word!" not in cleaned
    assert "postgres://app:[REDACTED]@db.internal:5432/app" in cleaned


@pytest.mark.parametrize(
    "line",
    [
        'password = "hunter2-correct-horse"',
        "password: hunter2-correct-horse",
        '{"client_secret": "hunter2-correct-horse", "client_id": "abc"}',
        "db_password='hunter2-correct-horse'",
        "  api_key: hunter2-correct-horse",
        "mysql -u root --password hunter2-correct-horse",
        "tool --api-key=hunter2-correct-horse --verbose",
        "SECRET_KEY := hunter2-correct-horse",
    ],
)
def test_secret_assignments_keep_the_name_and_drop_the_value(line: str) -> None:
    cleaned = redact(line)
    assert "hunter2-correct-horse" not in cleaned
    assert MARK in cleaned


def test_env_file_lines_lose_every_value() -> None:
    env_file = "\n".join(
        [
            "# local settings",
            "DATABASE_URL=postgres://app:pg-Pa55word!@localhost/app",
            f"OPENAI_API_KEY={OPENAI}",
            f"AWS_SECRET_ACCESS_KEY={AWS_SECRET}",
            "export STRIPE_WEBHOOK=whsec_not_a_known_prefix_value",
            "NODE_ENV=production",
            "",
        ]
    )
    cleaned = redact(env_file)
    for secret in (OPENAI, AWS_SECRET, "pg-Pa55word!", "whsec_not_a_known_prefix_value"):
        assert secret not in cleaned
    assert "# local settings" in cleaned
    assert "NODE_ENV=[REDACTED]" in cleaned  # errs on the side of removing
    assert "export STRIPE_WEBHOOK=[REDACTED]" in cleaned


def test_known_secrets_are_removed_verbatim() -> None:
    custom = "my-own-unpatterned-credential-42"
    assert custom not in redact(f"value {custom} here", known_secrets=[custom])


def test_ordinary_engineering_text_survives() -> None:
    text = (
        "Run `pytest -q` from the repo root, then `ruff check .`.\n"
        "The tokenizer limit is max_tokens: 4096 and the retry count is 3.\n"
        "See https://github.com/acme/widget/pull/12 for the discussion.\n"
        "def add(a, b):\n    return a + b\n"
        "The author of the module is Sam."
    )
    assert redact(text) == text


def test_redaction_is_idempotent() -> None:
    once = redact(f"token = {GITHUB}\nAuthorization: Bearer {OPENAI}\n{PEM}")
    assert redact(once) == once


# -- transcripts ------------------------------------------------------------------------------


def entry(kind: str, content: object, uuid: str, **extra: object) -> str:
    role = "user" if kind == "user" else "assistant"
    line = {
        "type": kind,
        "uuid": uuid,
        "parentUuid": None,
        "sessionId": "9b2f0c6e-1111-4222-8333-944455556666",
        "timestamp": "2026-03-02T10:00:00.000Z",
        "cwd": "/home/dev/widget",
        "message": {"role": role, "content": content},
        **extra,
    }
    return json.dumps(line)


def realistic_transcript() -> list[str]:
    return [
        json.dumps({"type": "summary", "summary": "Fixing the deploy", "leafUuid": "x"}),
        entry(
            "user",
            "The deploy fails with 401. Here's my .env:\n"
            f"OPENAI_API_KEY={OPENAI}\nTESSERA_API_KEY={TESSERA}\n"
            "DATABASE_URL=postgres://app:pg-Pa55word!@db/app\nDEBUG=1",
            "u-1",
        ),
        entry(
            "assistant",
            [
                {
                    "type": "thinking",
                    "thinking": f"the key {ANTHROPIC} looks wrong",
                    "signature": "x",
                },
                {"type": "text", "text": "I'll check the deploy script and the CI secrets."},
                {
                    "type": "tool_use",
                    "id": "toolu_1",
                    "name": "Bash",
                    "input": {
                        "command": f"curl -H 'Authorization: Bearer {GITHUB}' https://api.github.com"
                    },
                },
            ],
            "a-1",
        ),
        entry(
            "user",
            [
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_1",
                    "content": f"aws_secret_access_key = {AWS_SECRET}\n{PEM}",
                }
            ],
            "u-2",
        ),
        entry(
            "assistant",
            [
                {
                    "type": "text",
                    "text": f"The CI uses an expired GitHub token ({GITHUB_PAT}). Rotate it, then run "
                    f"`gh secret set DEPLOY_TOKEN` and set `client_secret: s3cr3t-client-value` in "
                    f"deploy.yaml. Slack alerts use {SLACK}.\nHere is the key you pasted:\n{PEM}",
                }
            ],
            "a-2",
        ),
        entry("user", "<command-name>/clear</command-name>", "u-3"),
        entry("user", "Caveat: messages below were generated by the user", "u-4", isMeta=True),
        entry(
            "assistant",
            [{"type": "text", "text": f"subagent saw {STRIPE}"}],
            "a-3",
            isSidechain=True,
        ),
        entry(
            "user",
            "Thanks! It works now. <system-reminder>internal note " + HF + "</system-reminder>",
            "u-5",
        ),
        "{ this line is corrupt",
        "",
    ]


def test_transcript_keeps_only_conversation_and_removes_every_secret() -> None:
    turns = list(parse_lines(realistic_transcript()))
    assert [t.role for t in turns] == ["user", "assistant", "assistant", "user"]
    assert [t.turn_id for t in turns] == ["cc-u-1", "cc-a-1", "cc-a-2", "cc-u-5"]
    joined = "\n".join(t.content for t in turns)
    for secret in [*ALL_SECRETS, "b3BlbnNzaC1rZXkt"]:
        assert secret not in joined, secret
    # the useful parts survive
    assert "The deploy fails with 401" in turns[0].content
    assert "DEBUG=[REDACTED]" in turns[0].content
    assert turns[1].content == "I'll check the deploy script and the CI secrets."
    assert "gh secret set DEPLOY_TOKEN" in turns[2].content
    assert "Rotate it" in turns[2].content
    assert turns[3].content == "Thanks! It works now."


def test_read_transcript_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "session.jsonl"
    path.write_text("\n".join(realistic_transcript()), encoding="utf-8")
    turns = read_transcript(path, known_secrets=["DEPLOY_TOKEN"])
    assert len(turns) == 4
    assert "DEPLOY_TOKEN" not in turns[2].content
    assert read_transcript(tmp_path / "missing.jsonl") == []


def test_long_turns_are_truncated() -> None:
    turns = list(parse_lines([entry("user", "word " * 5000, "u-long")]))
    assert len(turns[0].content) < 8100
    assert turns[0].content.endswith("[truncated]")
