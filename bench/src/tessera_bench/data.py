"""Loaders for the two benchmark data sets, with their quirks handled explicitly.

Both loaders produce the same shape: a :class:`Dataset` of :class:`Scope` objects. A scope is
what one memory owner (one ``user_id``) holds: its turns in the order they happened, and the
questions asked of it with their gold turn ids. Every turn gets a deterministic ``turn_id`` so a
retrieved item's source turns map straight back to the gold labels.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

LOCOMO_FILE = "locomo10.json"
LONGMEMEVAL_FILE = "longmemeval_oracle.json.gz"

LOCOMO_CATEGORIES: dict[int, str] = {
    1: "multi-hop",
    2: "temporal",
    3: "open-domain",
    4: "single-hop",
    5: "adversarial",
}
#: Categories that carry evidence to recall (5 is unanswerable by design).
LOCOMO_RECALL_CATEGORIES = (1, 2, 3, 4)

#: The two halves of every data set. Ranking and extraction features are chosen by measuring
#: on the tuning part only; the report part is the headline figure.
PARTS = ("tune", "report")
#: LoCoMo conversations (in file order) that form the tuning part; the rest are reported.
LOCOMO_TUNE_CONVERSATIONS = 5

_LOCOMO_DATE = "%I:%M %p on %d %B, %Y"
_LONGMEMEVAL_DATE = "%Y/%m/%d (%a) %H:%M"
_SESSION_KEY = re.compile(r"^session_(\d+)(?:_date_time)?$")
_EVIDENCE_ID = re.compile(r"^D:?(\d+):(\d+)$")


@dataclass(frozen=True)
class Turn:
    """One conversational turn as the benchmark ingests and indexes it."""

    turn_id: str
    ref: str
    session_id: str
    speaker: str
    role: str
    text: str
    event_time: datetime
    caption: str | None = None

    @property
    def content(self) -> str:
        """The indexed text: ``"<speaker>: <text>"`` plus the image caption when present."""
        body = f"{self.speaker}: {self.text}"
        if self.caption:
            body += f" [image: {self.caption}]"
        return body


@dataclass(frozen=True)
class Question:
    """A question with its gold turns (and gold sessions, where the data has them)."""

    qid: str
    text: str
    category: str
    answer: str
    evidence: frozenset[str]
    evidence_sessions: frozenset[str] = frozenset()
    asked_at: datetime | None = None
    #: ``"tune"`` or ``"report"``: which half of the data set the question belongs to.
    part: str = "report"


@dataclass
class Scope:
    """Everything one memory owner holds: turns in order, plus the questions asked of it."""

    scope_id: str
    turns: list[Turn]
    questions: list[Question]

    def session_of(self) -> dict[str, str]:
        return {t.turn_id: t.session_id for t in self.turns}


@dataclass
class Dataset:
    name: str
    path: Path
    scopes: list[Scope]
    #: Counters describing what was read, skipped and why (reported in the results).
    stats: dict[str, int] = field(default_factory=dict)
    #: The evidence strings that named no turn, as ``"<scope>:<raw id>"``.
    unresolved_ids: list[str] = field(default_factory=list)
    category_names: dict[str, str] = field(default_factory=dict)

    @property
    def questions(self) -> list[Question]:
        return [q for s in self.scopes for q in s.questions]

    @property
    def turns(self) -> list[Turn]:
        return [t for s in self.scopes for t in s.turns]


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# ---------------------------------------------------------------------------------------------
# LoCoMo


def locomo_turn_id(sample_id: str, dia_id: str) -> str:
    return f"{sample_id}-{dia_id}"


def split_evidence(raw: str) -> list[str]:
    """Split one evidence string into the ids it holds (``'D8:6; D9:17'``, ``'D9:1 D4:4'``)."""
    return [part for part in re.split(r"[;,\s]+", raw.strip()) if part]


def normalise_dia_id(raw: str) -> str | None:
    """``'D30:05'`` → ``'D30:5'``, ``'D:11:26'`` → ``'D11:26'``; ``None`` if it is no id at all."""
    match = _EVIDENCE_ID.match(raw.strip())
    if match is None:
        return None
    return f"D{int(match.group(1))}:{int(match.group(2))}"


def parse_locomo_date(raw: str) -> datetime:
    return datetime.strptime(raw.strip(), _LOCOMO_DATE).replace(tzinfo=timezone.utc)


def _as_text(value: Any) -> str:
    return "" if value is None else str(value)


def parse_locomo(
    samples: list[Mapping[str, Any]],
    *,
    path: Path,
    categories: Iterable[int] = LOCOMO_RECALL_CATEGORIES,
) -> Dataset:
    """Build the LoCoMo data set from the parsed JSON list of samples."""
    wanted = set(categories)
    stats: Counter[str] = Counter()
    unresolved: list[str] = []
    scopes: list[Scope] = []
    for position, sample in enumerate(samples):
        sample_id = str(sample["sample_id"])
        half = "tune" if position < LOCOMO_TUNE_CONVERSATIONS else "report"
        conv = sample["conversation"]
        numbers = sorted(
            {int(m.group(1)) for key in conv if (m := _SESSION_KEY.match(key)) is not None}
        )
        turns: list[Turn] = []
        for n in numbers:
            session = conv.get(f"session_{n}") or []
            if not session:
                stats["empty_sessions"] += 1
                continue
            when = parse_locomo_date(conv[f"session_{n}_date_time"])
            stats["sessions"] += 1
            for raw in session:
                dia_id = normalise_dia_id(str(raw["dia_id"])) or str(raw["dia_id"])
                caption = raw.get("blip_caption")
                turns.append(
                    Turn(
                        turn_id=locomo_turn_id(sample_id, dia_id),
                        ref=dia_id,
                        session_id=f"{sample_id}-S{n}",
                        speaker=str(raw["speaker"]),
                        role="user",
                        text=_as_text(raw.get("text")),
                        event_time=when,
                        caption=str(caption) if caption else None,
                    )
                )
        known = {t.turn_id for t in turns}
        stats["turns"] += len(turns)

        questions: list[Question] = []
        for index, qa in enumerate(sample.get("qa", [])):
            stats["questions_total"] += 1
            category = int(qa["category"])
            if category not in wanted:
                stats[f"questions_skipped_category_{category}"] += 1
                continue
            evidence: set[str] = set()
            for raw_ev in qa.get("evidence") or []:
                for part in split_evidence(str(raw_ev)):
                    stats["evidence_ids"] += 1
                    dia = normalise_dia_id(part)
                    tid = locomo_turn_id(sample_id, dia) if dia else None
                    if tid is None or tid not in known:
                        stats["unresolved_evidence"] += 1
                        unresolved.append(f"{sample_id}:{part}")
                        continue
                    evidence.add(tid)
            if not evidence:
                stats["questions_without_evidence"] += 1
                continue
            answer = qa.get("answer", qa.get("adversarial_answer", ""))
            questions.append(
                Question(
                    qid=f"{sample_id}-q{index}",
                    text=str(qa["question"]),
                    category=str(category),
                    answer=_as_text(answer),
                    evidence=frozenset(evidence),
                    part=half,
                )
            )
        stats["questions"] += len(questions)
        scopes.append(Scope(scope_id=sample_id, turns=turns, questions=questions))
    stats.setdefault("unresolved_evidence", 0)
    stats.setdefault("questions_without_evidence", 0)
    return Dataset(
        name="locomo",
        path=path,
        scopes=scopes,
        stats=dict(stats),
        unresolved_ids=unresolved,
        category_names={str(k): v for k, v in LOCOMO_CATEGORIES.items() if k in wanted},
    )


def load_locomo(data_dir: Path, **kwargs: Any) -> Dataset:
    path = data_dir / LOCOMO_FILE
    with path.open(encoding="utf-8") as fh:
        samples = json.load(fh)
    return parse_locomo(samples, path=path, **kwargs)


# ---------------------------------------------------------------------------------------------
# LongMemEval (oracle split)


def hashed_part(key: str) -> str:
    """A fixed half of the keys, independent of file order: the parity of a SHA-256 byte."""
    return "tune" if hashlib.sha256(key.encode("utf-8")).digest()[0] % 2 == 0 else "report"


def only_part(dataset: Dataset, part: str | None) -> Dataset:
    """The data set restricted to the questions of one part (``None`` or ``"all"``: all)."""
    if part in (None, "all"):
        return dataset
    if part not in PARTS:
        raise ValueError(f"unknown part {part!r}; known: {', '.join(PARTS)}, all")
    kept = [
        Scope(s.scope_id, s.turns, [q for q in s.questions if q.part == part])
        for s in dataset.scopes
    ]
    stats = dict(dataset.stats)
    stats["part_of_questions"] = len(dataset.questions)
    return Dataset(
        name=dataset.name,
        path=dataset.path,
        scopes=[s for s in kept if s.questions],
        stats=stats,
        unresolved_ids=list(dataset.unresolved_ids),
        category_names=dict(dataset.category_names),
    )


def parse_longmemeval_date(raw: str) -> datetime:
    return datetime.strptime(raw.strip(), _LONGMEMEVAL_DATE).replace(tzinfo=timezone.utc)


def longmemeval_turn_id(question_id: str, session_id: str, index: int) -> str:
    return f"{question_id}:{session_id}:{index}"


def parse_longmemeval(entries: list[Mapping[str, Any]], *, path: Path) -> Dataset:
    """One scope per question: its haystack sessions in date order, and the question itself.

    Abstention questions (ids ending in ``_abs``) have nothing to recall and are left out; a
    question with no ``has_answer`` turn is counted and left out too.
    """
    stats: Counter[str] = Counter()
    scopes: list[Scope] = []
    types: set[str] = set()
    for entry in entries:
        qid = str(entry["question_id"])
        stats["questions_total"] += 1
        if qid.endswith("_abs"):
            stats["abstention_skipped"] += 1
            continue
        sessions = list(
            zip(
                entry["haystack_session_ids"],
                entry["haystack_dates"],
                entry["haystack_sessions"],
                strict=True,
            )
        )
        dated = [(parse_longmemeval_date(d), i, sid, s) for i, (sid, d, s) in enumerate(sessions)]
        if [d for d, *_ in dated] != sorted(d for d, *_ in dated):
            stats["haystacks_reordered_by_date"] += 1
        dated.sort(key=lambda row: (row[0], row[1]))
        turns: list[Turn] = []
        evidence: set[str] = set()
        for when, _, sid, session in dated:
            for index, raw in enumerate(session):
                role = str(raw["role"])
                tid = longmemeval_turn_id(qid, str(sid), index)
                turns.append(
                    Turn(
                        turn_id=tid,
                        ref=f"{sid}:{index}",
                        session_id=str(sid),
                        speaker=role,
                        role=role if role in ("user", "assistant", "system") else "user",
                        text=_as_text(raw.get("content")),
                        event_time=when,
                    )
                )
                if raw.get("has_answer"):
                    evidence.add(tid)
        stats["turns"] += len(turns)
        stats["sessions"] += len(dated)
        if not evidence:
            stats["questions_without_evidence"] += 1
            continue
        qtype = str(entry["question_type"])
        types.add(qtype)
        question = Question(
            qid=qid,
            text=str(entry["question"]),
            category=qtype,
            answer=_as_text(entry.get("answer")),
            evidence=frozenset(evidence),
            evidence_sessions=frozenset(str(s) for s in entry.get("answer_session_ids", [])),
            asked_at=parse_longmemeval_date(entry["question_date"])
            if entry.get("question_date")
            else None,
            part=hashed_part(qid),
        )
        stats["questions"] += 1
        scopes.append(Scope(scope_id=qid, turns=turns, questions=[question]))
    stats.setdefault("questions_without_evidence", 0)
    return Dataset(
        name="longmemeval",
        path=path,
        scopes=scopes,
        stats=dict(stats),
        category_names={t: t for t in sorted(types)},
    )


def load_longmemeval(data_dir: Path) -> Dataset:
    path = data_dir / LONGMEMEVAL_FILE
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        entries = json.load(fh)
    return parse_longmemeval(entries, path=path)


def subset(dataset: Dataset, *, scopes: int | None, questions: int | None) -> Dataset:
    """A smaller copy for quick runs: the first ``scopes`` scopes, ``questions`` per scope."""
    if not scopes and not questions:
        return dataset
    picked = dataset.scopes[:scopes] if scopes else dataset.scopes
    if questions:
        picked = [Scope(s.scope_id, s.turns, s.questions[:questions]) for s in picked]
    names = {s.scope_id for s in picked}
    unresolved = [u for u in dataset.unresolved_ids if u.split(":", 1)[0] in names]
    stats = dict(dataset.stats)
    stats["subset_of_scopes"] = len(dataset.scopes)
    stats["subset_of_questions"] = len(dataset.questions)
    if "unresolved_evidence" in stats:
        # Only ids of the kept scopes; which questions they belonged to is not tracked.
        stats["unresolved_evidence"] = len(unresolved)
    return Dataset(
        name=dataset.name,
        path=dataset.path,
        scopes=picked,
        stats=stats,
        unresolved_ids=unresolved,
        category_names=dict(dataset.category_names),
    )
