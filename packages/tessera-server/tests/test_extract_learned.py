"""The offline extractor's relation tagger: the shipped model, run for real on statements.

What it promises: the model ships inside the package (small, never downloaded); it finds
facts the hand rules' catalogue has no row for; it states nothing for statements that state
nothing, whatever it tags; a fact it adds is about the person the clause is about; and
training it again on the same statements gives the same model, byte for byte.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
from server_helpers import Api, unique
from tessera_server.engine.extract import TurnView
from tessera_server.engine.extract.offline import OfflineExtractor
from tessera_server.engine.extract.offline.learned import shipped_tagger
from tessera_server.engine.extract.offline.learned.tagger import MODEL_FILE
from tessera_server.engine.extract.offline.learned.training import tag_sequence, train
from tessera_server.testing import run_service

WED = datetime(2024, 5, 8, 14, 0, tzinfo=timezone.utc)


def facts(text: str, *, learned: bool = True, speaker: str = "User") -> set[tuple[str, str, str]]:
    extractor = OfflineExtractor(learned=learned)
    found = extractor.extract([TurnView(0, speaker, "user", text, WED)]).facts
    return {(f.subject, f.relation, f.object) for f in found}


def test_the_model_ships_as_package_data_and_is_small() -> None:
    model = files("tessera_server.engine.extract.offline.learned") / MODEL_FILE
    size = len(model.read_bytes())
    assert 10_000 < size < 5 * 1024 * 1024


@pytest.mark.parametrize(
    ("text", "fact"),
    [
        ("I'm employed by Unilever as a chemist.", ("User", "works_as", "chemist")),
        ("I work in HR at Pfizer.", ("User", "works_at", "Pfizer")),
    ],
)
def test_the_tagger_adds_facts_the_catalogue_has_no_row_for(
    text: str, fact: tuple[str, str, str]
) -> None:
    assert fact not in facts(text, learned=False)  # outside the hand rules
    assert fact in facts(text)


@pytest.mark.parametrize(
    "text",
    [
        "If I lived in Barcelona I'd be at the beach every day.",
        "Should I move to Denver or stay in Ohio?",
        "My friend thinks I should become a teacher.",
        "I lived in Dublin for two years in my twenties.",
        "I'm thinking about maybe studying law.",
        "Write me a short bio for a nurse who lives in Austin.",
        "Some days it feels like I work at a circus.",
        "I'm allergic to Mondays, lol.",
        'She said "I live in Paris now" and I just nodded.',
        "Our neighbors have three dogs.",
        "My son just turned 12.",
    ],
)
def test_statements_that_state_nothing_get_no_fact_from_either_part(text: str) -> None:
    assert facts(text) == set()


def test_a_learned_fact_is_about_whom_the_clause_is_about() -> None:
    tagging = shipped_tagger().tag("Sarah lives in Denver and works at REI.")
    about = {(c.subject, c.relation, c.object) for c in tagging.candidates}
    assert ("Sarah", "lives_in", "Denver") in about
    assert ("Sarah", "works_at", "REI") in about
    mine = shipped_tagger().tag("I'm a nurse at St. Mary's and I live in Leeds.")
    assert {c.subject for c in mine.candidates} == {None}  # the speaker


def test_the_rules_alone_are_the_default() -> None:
    text = "I'm employed by Unilever as a chemist."
    assert facts(text, learned=False) < facts(text)
    extractor = OfflineExtractor()
    found = extractor.extract([TurnView(0, "User", "user", text, WED)]).facts
    assert {(f.subject, f.relation, f.object) for f in found} == facts(text, learned=False)


def test_the_service_uses_the_tagger_only_when_switched_on(api: Api, tmp_path: Path) -> None:
    text = "I work in HR at Pfizer."
    off = unique("tagger-off")
    api.sync_add(off, text)
    assert not any("Pfizer" in f["text"] for f in api.facts(user_id=off))
    with run_service(tmp_path / "tagger", env={"TESSERA_OFFLINE_TAGGER": "true"}) as handle:
        on_api = Api(handle.base_url, handle.api_key)
        on = unique("tagger-on")
        on_api.sync_add(on, text)
        assert [f["text"] for f in on_api.facts(user_id=on)] == ["User works at Pfizer"]
        on_api.close()


def test_labels_tag_objects_with_their_relation_and_named_subjects() -> None:
    tags = tag_sequence(
        "My wife Yuki is a vet in Oslo.",
        "User",
        [
            {"subject": "User", "relation": "wife", "object": "Yuki"},
            {"subject": "Yuki", "relation": "works_as", "object": "vet"},
            {"subject": "Yuki", "relation": "lives_in", "object": "Oslo"},
        ],
    )
    assert tags == ["O", "O", "B-wife", "O", "O", "B-works_as", "O", "B-lives_in", "O"]
    # a negated fact is the rules' business; a fact-free statement is all "O"
    assert set(tag_sequence("I don't live in Rome anymore.", "User", [])) == {"O"}


_ROWS: list[dict[str, Any]] = [
    {"text": t, "speaker": "User", "facts": [{"subject": "User", "relation": r, "object": o}]}
    for t, r, o in [
        ("I live in Oslo.", "lives_in", "Oslo"),
        ("I work at Acme.", "works_at", "Acme"),
        ("I'm a baker.", "works_as", "baker"),
        ("I love jazz.", "likes", "jazz"),
        ("I speak Greek.", "speaks", "Greek"),
        ("I play chess.", "plays", "chess"),
    ]
] + [
    {"text": t, "speaker": "User", "facts": []}
    for t in ("What is jazz?", "If I lived in Rome I'd be happy.", "Thanks!")
]


def _hash(rows: list[dict[str, Any]], path: Path) -> str:
    train(rows, path)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_training_is_reproducible(tmp_path: Path) -> None:
    first = _hash(_ROWS, tmp_path / "a.crfsuite")
    assert _hash(_ROWS, tmp_path / "b.crfsuite") == first
    assert _hash(_ROWS[:-1], tmp_path / "c.crfsuite") != first  # it does depend on the data
