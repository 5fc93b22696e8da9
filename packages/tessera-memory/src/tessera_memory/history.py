"""Bringing a conversation history in: a ChatGPT or Claude export, imported through the
batch path as sessions of turns.

::

    from tessera_memory import Tessera
    from tessera_memory.history import import_history

    report = import_history(Tessera(), "chatgpt", "conversations.json", user_id="alice")
    print(report.summary())

Each conversation becomes one session (its id is the session id) of turns that keep their
original ids, roles and times, so importing the same file again stores nothing twice, and
facts land where they belong on the valid timeline whatever order the file lists them in.
With a `state_path` the import is resumable: the conversations finished are written there
as they finish, and a second run after an interruption starts after them.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._client import Tessera
from ._exceptions import APIStatusError
from .history_formats import (
    SOURCES,
    Conversation,
    ExportFormatError,
    HistoryMessage,
    Skipped,
    Source,
    read_export,
)

BATCH_SIZE = 200


@dataclass(frozen=True)
class ImportProgress:
    """Where an import stands, after each conversation."""

    done: int
    total: int
    title: str
    turns_created: int
    turns_present: int


@dataclass
class ImportReport:
    conversations: int = 0
    resumed: int = 0
    turns_created: int = 0
    turns_present: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    job_id: str | None = None

    def reasons(self) -> Counter[str]:
        """How many things were skipped, per reason."""
        return Counter(s.reason for s in self.skipped)

    def summary(self) -> str:
        lines = [
            f"imported {self.conversations} conversation(s): {self.turns_created} turn(s) "
            f"stored, {self.turns_present} already present",
        ]
        if self.resumed:
            lines.append(f"{self.resumed} conversation(s) finished by an earlier run, not resent")
        if self.skipped:
            lines.append(f"skipped {len(self.skipped)}:")
            lines += [f"  {n}: {reason}" for reason, n in self.reasons().most_common()]
        if self.job_id:
            lines.append(f"consolidation queued as {self.job_id}")
        return "\n".join(lines)


class _State:
    """The conversations an import has finished, kept in a small JSON file: each with a
    fingerprint of its messages, so a conversation continued since (a newer export) is sent
    again for its new turns."""

    def __init__(self, path: Path | None, source: str, user_id: str) -> None:
        self.path, self.key = path, {"source": source, "user_id": user_id}
        self.done: dict[str, str] = {}
        if path is not None and path.exists():
            try:
                saved = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError):
                saved = {}
            if isinstance(saved, dict) and all(saved.get(k) == v for k, v in self.key.items()):
                done = saved.get("done")
                if isinstance(done, dict):
                    self.done = {str(k): str(v) for k, v in done.items()}

    @staticmethod
    def fingerprint(conv: Conversation) -> str:
        last = conv.messages[-1].turn_id if conv.messages else ""
        return f"{len(conv.messages)}:{last}"

    def finished(self, conv: Conversation) -> bool:
        return self.done.get(conv.id) == self.fingerprint(conv)

    def finish(self, conv: Conversation) -> None:
        self.done[conv.id] = self.fingerprint(conv)
        if self.path is None:
            return
        temporary = self.path.with_name(self.path.name + ".tmp")
        temporary.write_text(json.dumps({**self.key, "done": self.done}), encoding="utf-8")
        os.replace(temporary, self.path)


def _wire(message: HistoryMessage) -> dict[str, Any]:
    return {
        "turn_id": message.turn_id,
        "role": message.role,
        "content": message.content,
        "event_time": message.event_time.isoformat(),
    }


def _send(
    client: Tessera,
    conv: Conversation,
    chunk: Sequence[HistoryMessage],
    metadata: dict[str, Any],
    user_id: str,
    report: ImportReport,
) -> None:
    """One batch; when the service refuses it (a message over its limits), each message
    alone, so that only the refused ones are skipped, with the service's reason."""
    try:
        answer = client.memories.batch(
            messages=[_wire(m) for m in chunk],
            user_id=user_id,
            session_id=conv.id,
            metadata=metadata,
        )
    except APIStatusError as exc:
        if exc.status_code not in (413, 422) or len(chunk) == 1:
            if exc.status_code in (413, 422):
                reason = f"refused by the service ({exc.status_code}: {exc.detail or 'invalid'})"
                report.skipped.append(Skipped(conv.id, chunk[0].turn_id, reason))
                return
            raise
        for message in chunk:
            _send(client, conv, [message], metadata, user_id, report)
        return
    for result in answer.results:
        if result.created:
            report.turns_created += 1
        else:
            report.turns_present += 1


def import_history(
    client: Tessera,
    source: Source,
    path: str | os.PathLike[str],
    *,
    user_id: str,
    state_path: str | os.PathLike[str] | None = None,
    progress: Callable[[ImportProgress], None] | None = None,
    consolidate: bool = True,
    batch_size: int = BATCH_SIZE,
) -> ImportReport:
    """Import a `conversations.json` export (``source`` "chatgpt" or "claude") for a user.

    Raises :class:`ExportFormatError` when the file is not such an export (nothing is sent).
    Conversations are sent in the file's order; a re-run is a no-op for what is stored
    (turn ids), and with ``state_path`` it does not even resend finished conversations.
    ``consolidate`` queues consolidation of what was imported at the end.
    """
    if source not in SOURCES:
        raise ExportFormatError(f"unknown export {source!r}; expected one of {', '.join(SOURCES)}")
    conversations = read_export(source, path)
    state = _State(Path(state_path) if state_path is not None else None, source, user_id)
    report = ImportReport()
    for done, conv in enumerate(conversations, start=1):
        if state.finished(conv):
            report.resumed += 1
        else:
            report.skipped += conv.skipped
            metadata = {"source": source, "conversation": conv.title[:200]}
            for start in range(0, len(conv.messages), batch_size):
                chunk = conv.messages[start : start + batch_size]
                _send(client, conv, chunk, metadata, user_id, report)
            if conv.messages:
                report.conversations += 1
            state.finish(conv)
        if progress is not None:
            progress(
                ImportProgress(
                    done, len(conversations), conv.title, report.turns_created, report.turns_present
                )
            )
    if consolidate and report.turns_created:
        queued = client.maintenance.consolidate(user_id=user_id)
        job = getattr(queued, "job", None)
        report.job_id = getattr(job, "id", None)
    return report


__all__ = [
    "ExportFormatError",
    "ImportProgress",
    "ImportReport",
    "Skipped",
    "import_history",
]
