"""Hybrid retrieval: lexical and dense arms over episodes and facts, fused by RRF, reranked.

Search never calls an LLM. Each arm ranks independently inside the scope with the same
filters; reciprocal-rank fusion (k = 60) merges the four rankings; the optional rerank
re-scores the fused head with finer features.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from ..providers.embedder import Vectors
from ..providers.reranker import Candidate
from ..store import Store
from .clock import utcnow
from .errors import InvalidInput
from .filters import parse_filters
from .parts import part_of
from .pending import of_turns
from .records import EpisodePool, EpisodeRecord, FactPool, FactRecord, Scope, TimeTravel
from .runtime import Runtime

RRF_K = 60
_WORD = re.compile(r"[^\W_]+")
SEARCHABLE_KINDS = ("episode", "note")
# Words too common to help a lexical match, as text (split into a set below).
_STOPWORD_TEXT = """
a about above after again against all am an and any are as at be because been before
being below between both but by can did do does doing down during each few for from
further had has have having he her here hers herself him himself his how i if in into
is it its itself just me more most my myself no nor not now of off on once only or
other our ours ourselves out over own same she should so some such than that the their
theirs them themselves then there these they this those through to too under until up
very was we were what when where which while who whom why will with you your yours
yourself yourselves
"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())


@dataclass
class Signals:
    """Why a hit ranks where it does (`SearchParams.explain`): for each arm that found it, its
    rank there (1 = best), the arm's own score and the share of fusion it earned; the fused
    score; each rerank feature's weighted part; the lift from neighbouring hits; what it gave up
    to other sittings (`spread_sittings`); the raise that keeps fusion's best results in the
    head; and how far it was moved back as redundant (so parts + lift - spread + guard -
    demotion = the final score)."""

    arms: dict[str, tuple[int, float, float]] = field(default_factory=dict)
    fused: float = 0.0
    rerank: dict[str, float] = field(default_factory=dict)
    lift: float = 0.0
    spread: float = 0.0  # given up to other sittings' best items (`spread_sittings`)
    guard: float = 0.0  # raised to keep fusion's best in the head (`keep_fused_head`)
    demotion: float = 0.0


@dataclass
class Hit:
    id: str
    type: Literal["episode", "fact"]
    text: str
    score: float
    record: EpisodeRecord | FactRecord
    signals: Signals | None = None


@dataclass(frozen=True)
class SearchParams:
    query: str
    top_k: int
    rerank: bool
    as_of: datetime | None
    known_as_of: datetime | None
    types: tuple[str, ...]
    filters: list[dict[str, object]]
    explain: bool = False


def check_query(text: str, max_chars: int) -> str:
    stripped = text.strip()
    if not stripped:
        raise InvalidInput("`query` is empty; say what to look for")
    if len(text) > max_chars:
        raise InvalidInput(f"`query` is longer than {max_chars} characters")
    return stripped


def query_terms(text: str) -> list[str]:
    """The words the lexical arms look for: lower-cased, stopwords dropped, deduplicated."""
    words = [w.lower() for w in _WORD.findall(text)]
    kept = [w for w in words if w not in STOPWORDS] or words
    return list(dict.fromkeys(kept))


@dataclass
class Arm:
    """One first-stage ranking: its name, ids best first, and each id's own score."""

    name: str
    ranking: list[str]
    scores: dict[str, float]

    @classmethod
    def of(cls, name: str, ranked: list[tuple[str, float]]) -> Arm:
        return cls(name, [i for i, _ in ranked], dict(ranked))


def fuse(rankings: list[list[str]], k: int = RRF_K) -> dict[str, float]:
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, item_id in enumerate(ranking):
            scores[item_id] = scores.get(item_id, 0.0) + 1.0 / (k + rank + 1)
    return scores


def fuse_arms(arms: list[Arm]) -> dict[str, float]:
    return fuse([arm.ranking for arm in arms])


def search(runtime: Runtime, scope: Scope, params: SearchParams) -> list[Hit]:
    settings, store = runtime.settings, runtime.store
    query = check_query(params.query, settings.max_content_chars)
    filters = parse_filters(params.filters, settings.max_filters)
    travel = TimeTravel(params.as_of, params.known_as_of)
    now = utcnow()
    qvec: Vectors = runtime.embedder.embed([query])[0]
    match = query_terms(query)
    depth = max(50, params.top_k * 4)

    arms: list[Arm] = []
    waiting: dict[str, EpisodeRecord] = {}
    if "episode" in params.types and filters.episodes is not None:
        episodes = EpisodePool(scope, SEARCHABLE_KINDS, filters.episodes)
        if match:
            arms.append(Arm.of("lexical episodes", store.lexical_episodes(episodes, match, depth)))
        arms.append(Arm.of("dense episodes", store.dense_episodes(episodes, qvec, depth)))
    if "episode" in params.types and filters.episodes == []:
        # Turn-level arms: an episode ranks by the best of its turns, so one matching line
        # inside a longer episode is enough to find it. Skipped under episode filters,
        # which apply to episode columns. A turn no episode holds yet ranks as itself while
        # it waits for consolidation (engine/pending.py), so a write is found at once.
        by_name = {arm.name: arm for arm in arms}
        turn_rankings = (
            ("lexical turns", store.lexical_turns(scope, match, depth * 2) if match else []),
            ("dense turns", store.dense_turns(scope, qvec, depth * 2)),
        )
        # The two arms' turns overlap: their episodes are looked up once, together.
        ranked = list(dict.fromkeys(pk for _, ranking in turn_rankings for pk, _ in ranking))
        owners = store.episodes_of_turns(scope, ranked, SEARCHABLE_KINDS)
        unowned = of_turns(store, [pk for pk in ranked if pk not in owners])
        for record in unowned.values():
            waiting[record.id] = record
        for name, turn_ranking in turn_rankings:
            same = by_name.get(name.replace("turns", "episodes"))
            best: dict[str, float] = {}
            for pk, score in turn_ranking:
                if pk in unowned:
                    best.setdefault(unowned[pk].id, score)
                    continue
                for ep in _turn_owners(owners.get(pk, []), same):
                    best.setdefault(ep, score)
            if best:
                arms.append(Arm(name, list(best), best))
    if "fact" in params.types and filters.facts is not None:
        facts = FactPool(scope, travel, now, filters.facts)
        if match:
            arms.append(Arm.of("lexical facts", store.lexical_facts(facts, match, depth)))
        arms.append(Arm.of("dense facts", store.dense_facts(facts, qvec, depth)))
    fused = fuse_arms(arms)
    ordered = sorted(fused, key=lambda i: (-fused[i], i))
    head = ordered[: max(params.top_k * 3, 30)] if params.rerank else ordered[: params.top_k]
    hits = _load(runtime, scope, head, fused, waiting)
    if params.explain:
        for hit in hits:
            hit.signals = Signals(fused=hit.score)
            for arm in arms:
                if hit.id in arm.scores:
                    rank = arm.ranking.index(hit.id)
                    share = 1.0 / (RRF_K + rank + 1)
                    hit.signals.arms[arm.name] = (rank + 1, arm.scores[hit.id], share)
    keep_turns = settings.rerank_keep_turns
    within = min(settings.rerank_keep_within, params.top_k)
    if params.rerank and hits:
        turn_pks = [pk for h in hits for pk in h.record.source_turn_pks]
        parts = store.turn_vectors(turn_pks) if turn_pks else {}
        candidates = [
            Candidate(
                text=h.text,
                vector=h.record.embedding,
                event_time=h.record.event_time
                if isinstance(h.record, EpisodeRecord)
                else h.record.t_valid,
                pinned=isinstance(h.record, EpisodeRecord) and h.record.pinned,
                fused_rank=rank,
                role=h.record.role if isinstance(h.record, EpisodeRecord) else "",
                # A part of a long turn is matched by its own vector, not the turn's head.
                part_vectors=()
                if not isinstance(h.record, EpisodeRecord) or part_of(h.record.attrs) is not None
                else tuple(parts[pk] for pk in h.record.source_turn_pks if pk in parts),
            )
            for rank, h in enumerate(hits)
        ]
        explain = getattr(runtime.reranker, "contributions", None) if params.explain else None
        if explain is not None:
            features: list[dict[str, float]] = explain(query, qvec, candidates)
            for hit, parts_of in zip(hits, features, strict=True):
                assert hit.signals is not None
                hit.signals.rerank = parts_of
                hit.score = float(sum(parts_of.values()))
        else:
            for hit, score in zip(
                hits, runtime.reranker.score(query, qvec, candidates), strict=True
            ):
                hit.score = float(score)
        hits.sort(key=lambda h: (-h.score, h.id))
        before = {h.id: h.score for h in hits}
        gap = timedelta(minutes=settings.episode_gap_minutes)
        lift_neighbours(hits, store, gap)
        hits.sort(key=lambda h: (-h.score, h.id))
        lifted = {h.id: h.score for h in hits}
        spreads = bool(settings.rerank_spread) and gathers(query)
        keep_sittings = settings.rerank_keep_sittings
        # Sittings are labelled only for the rules that read them.
        sitting = sittings(hits, gap) if spreads or keep_sittings > 0 else {}
        if spreads:
            spread_sittings(hits, sitting, settings.rerank_spread)
            hits.sort(key=lambda h: (-h.score, h.id))
        spread = {h.id: h.score for h in hits}
        guarded = guarded_ids(
            hits, ordered, turn_order(arms), settings.rerank_keep_fused, keep_turns
        )
        guarded += [
            i
            for i in sitting_guards(hits, [turn_order(arms), ordered], sitting, keep_sittings)
            if i not in guarded
        ]
        hits = keep_fused_head(hits, guarded, within)
        depth, raw = settings.rerank_keep_depth, settings.rerank_keep_raw_depth
        if depth > 0 or raw > 0:
            # The first stage's sittings at depth, over fusion's order and the turn-level
            # arms', and each raw-turn search's own sittings; sittings are labelled here when
            # no earlier rule needed them.
            sitting = sitting or sittings(hits, gap)
            jobs = [(within, {i}) for i in guarded[:within]]
            jobs += depth_jobs(hits, [turn_order(arms), ordered], sitting, depth)
            jobs += depth_jobs(
                hits, raw_orders(arms, settings.rerank_keep_raw_arms), sitting, raw, distinct=True
            )
            hits = meet_deadlines(hits, jobs)
        kept = {h.id: h.score for h in hits}
        hits = demote_redundant(hits)
        for hit in hits:
            if hit.signals is not None:
                hit.signals.lift = lifted[hit.id] - before[hit.id]
                hit.signals.spread = lifted[hit.id] - spread[hit.id]
                hit.signals.guard = kept[hit.id] - spread[hit.id]
                hit.signals.demotion = kept[hit.id] - hit.score
    elif keep_turns and hits:
        # Without the rerank the answer is fusion's order; the turn-level arms' best still
        # keep their place in its head (episode and fact arms can outvote them there).
        hits = keep_fused_head(hits, guarded_ids(hits, [], turn_order(arms), 0, keep_turns), within)
    return hits[: params.top_k]


def _turn_owners(owners: list[str], same: Arm | None) -> list[str]:
    """The episodes a turn-level match stands for. A turn searched in parts has one episode
    per part: the match goes to its part that ranks best in the episode arm of the same
    kind (lexical or dense), or to none of them when no part ranks there."""
    if len(owners) <= 1:
        return owners
    if same is None:
        return []
    ranked = [ep for ep in owners if ep in same.scores]
    return [min(ranked, key=same.ranking.index)] if ranked else []


TURN_ARMS = ("lexical turns", "dense turns")


def turn_order(arms: list[Arm]) -> list[str]:
    """The items ranked by the turn-level arms alone, fused: what a search over raw turns
    would put first, each turn standing for the episode that holds it."""
    fused = fuse([arm.ranking for arm in arms if arm.name in TURN_ARMS])
    return sorted(fused, key=lambda i: (-fused[i], i))


def raw_orders(arms: list[Arm], kinds: str) -> list[list[str]]:
    """Each turn-level arm of the given kinds (`rerank_keep_raw_arms`: "lexical,dense") on
    its own: what a search over raw turns by words alone, or by meaning alone, ranks first.

    Where the question's words are common ones, the word arms of both grains and the
    rerank's word coverage favour lines that share them, and outvote a line that only the
    meaning search ranks near the top (and the other way round for a rare name that only
    the words match)."""
    names = {f"{kind} turns" for kind in kinds.split(",")}
    return [arm.ranking for arm in arms if arm.name in names]


def guarded_ids(
    hits: list[Hit], fused_order: list[str], turns: list[str], keep: int, keep_turns: int
) -> list[str]:
    """What keeps a place in the head whatever the rerank does: fusion's best `keep` and the
    turn-level arms' best `keep_turns`, among the candidates in `hits`.

    The turn-level arms rank single turns as a search over raw turns would; the episode and
    fact arms can outvote them in fusion (an item found at both grains earns twice), and the
    rerank can misjudge. Their best match is the candidate least likely to be irrelevant, so
    it is never lost from the head: ranking never does worse there than its own first stage."""
    candidates = {h.id for h in hits}
    best_fused = [i for i in fused_order if i in candidates][:keep]
    best_turns = [i for i in turns if i in candidates][:keep_turns]
    return list(dict.fromkeys(best_turns + best_fused))


def keep_fused_head(hits: list[Hit], guarded_order: list[str], within: int) -> list[Hit]:
    """The `guarded_order` results (see `guarded_ids`) keep a place among the first `within`
    of the answer.

    The rerank's features are finer than fusion's but can still be wrong, and a result that
    the first-stage arms put on top is rarely irrelevant: the rerank may reorder the head,
    but not push the first stage's best out of it. A guarded result below its place moves up to it
    (the last place not already held by a guarded result), taking the score of the result
    it lands before so scores stay descending.
    """
    position = {h.id: i for i, h in enumerate(hits)}
    guarded = set([i for i in guarded_order if i in position][:within])
    if not guarded:
        return hits
    if all(position[i] < within for i in guarded):
        return hits
    others = [h for h in hits if h.id not in guarded]
    pending = [h for h in hits if h.id in guarded]
    result: list[Hit] = []
    taken = 0
    while pending or taken < len(others):
        at = len(result)
        if pending and (
            position[pending[0].id] <= at or within - at <= len(pending) or taken == len(others)
        ):
            hit = pending.pop(0)
            if taken < len(others) and hit.score < others[taken].score:
                hit.score = others[taken].score
            result.append(hit)
        else:
            result.append(others[taken])
            taken += 1
    return result


def sittings(hits: list[Hit], gap: timedelta) -> dict[str, int]:
    """Each hit's sitting: hits said with no pause longer than `gap` between them (in event
    time, among the hits) share one. Facts count by the time they became true."""
    order = sorted(hits, key=lambda h: (_said_at(h), h.id))
    label: dict[str, int] = {}
    current, last = 0, None
    for hit in order:
        when = _said_at(hit)
        if last is not None and when - last > gap:
            current += 1
        label[hit.id] = current
        last = when
    return label


def _said_at(hit: Hit) -> datetime:
    record = hit.record
    return record.event_time if isinstance(record, EpisodeRecord) else record.t_valid


# A question that gathers several things: counts, totals, sums, comparisons, differences.
_GATHERS = re.compile(
    r"\b(how many|how much|in total|total|altogether|combined|sum|average|difference"
    r"|compared?|more|less|fewer|between|both|different)\b",
    re.I,
)


def gathers(query: str) -> bool:
    """Whether the question collects its answer from several occasions ("How many tanks do I
    have?", "What is the total cost of…?", "How much more did I spend on X than on Y?")."""
    return bool(_GATHERS.search(query))


def spread_sittings(hits: list[Hit], sitting: dict[str, int], share: float) -> None:
    """Each hit loses `share` of score per better hit of its own sitting.

    A question that counts or compares is answered by one line in each of several sittings;
    a sitting's second and third matches mostly repeat its first, and the places they take
    are worth more to the best match of another sitting. `hits` must be sorted best first.
    """
    seen: dict[int, int] = {}
    for hit in hits:
        label = sitting[hit.id]
        hit.score -= share * seen.get(label, 0)
        seen[label] = seen.get(label, 0) + 1


def depth_jobs(
    hits: list[Hit],
    orders: list[list[str]],
    sitting: dict[str, int],
    depth: int,
    distinct: bool = False,
) -> list[tuple[int, set[str]]]:
    """What the first stage holds at each depth, as deadlines: the sitting of the n-th
    candidate of each first-stage order (`orders`, e.g. fusion's and the turn-level arms')
    keeps a result within the first 2n places, up to place `depth`; with `distinct`, the n-th
    distinct sitting of each order does (an order's first results often share one sitting).

    So at every depth k up to `depth`, the answer's first k results hold every sitting of
    each first-stage order's first k // 2 (results, or with `distinct` sittings): the rerank
    may reorder, choose which item stands for a sitting and bring new sittings forward, but
    it never loses at depth (by half) a sitting, a session, that its own first stage ranks
    near the top."""
    due: dict[int, int] = {}
    for order in orders:
        ranked = [i for i in order if i in sitting]
        if distinct:
            first: dict[int, str] = {}
            for item_id in ranked:
                first.setdefault(sitting[item_id], item_id)
            ranked = list(first.values())
        for n, item_id in enumerate(ranked[: depth // 2], start=1):
            label = sitting[item_id]
            due[label] = min(due.get(label, 2 * n), 2 * n)
    members: dict[int, set[str]] = {}
    for hit in hits:
        members.setdefault(sitting[hit.id], set()).add(hit.id)
    return [(deadline, members[label]) for label, deadline in sorted(due.items())]


def meet_deadlines(hits: list[Hit], jobs: list[tuple[int, set[str]]]) -> list[Hit]:
    """The rerank's order (`hits`, best first), changed only as far as `jobs` need: each job
    (deadline, ids) wants one of its ids within the first `deadline` places.

    A place goes to the rerank's best remaining hit unless some deadline could no longer be
    met otherwise; then it goes to the best hit of the most urgent job (earliest deadline
    first). A hit moved up takes the score of the hit it lands before, so scores stay
    descending. With every job met by the rerank's own order, nothing moves."""
    pending = sorted((deadline, ids) for deadline, ids in jobs if ids)
    if not pending:
        return hits
    remaining = list(hits)
    result: list[Hit] = []
    while remaining:
        placed = {h.id for h in result}
        pending = [(d, ids) for d, ids in pending if not ids & placed]
        if not pending:
            break
        place = len(result) + 1
        # The tightest depth: enough pending jobs due by k to fill every place up to k.
        tight = next((d for n, (d, _) in enumerate(pending, start=1) if n >= d - place + 1), None)
        pick = remaining[0]
        if tight is not None and not any(pick.id in ids for d, ids in pending if d <= tight):
            wanted = pending[0][1]
            pick = next((h for h in remaining if h.id in wanted), pick)
        remaining.remove(pick)
        result.append(pick)
    result += remaining
    for at in range(len(result) - 2, -1, -1):
        if result[at].score < result[at + 1].score:
            result[at].score = result[at + 1].score
    return result


def sitting_guards(
    hits: list[Hit], orders: list[list[str]], sitting: dict[str, int], keep: int
) -> list[str]:
    """For the best `keep` distinct sittings of each first-stage order (the turn-level arms',
    fusion's), the hit (in the rerank's order) that stands for each: the rerank chooses which
    of a sitting's items comes first, but cannot drop from the head a sitting that the first
    stage ranks best. `hits` must be sorted best first."""
    if keep <= 0:
        return []
    wanted: list[int] = []
    for order in orders:
        mine: list[int] = []
        for item_id in order:
            label = sitting.get(item_id)
            if label is not None and label not in mine:
                mine.append(label)
                if len(mine) == keep:
                    break
        wanted += [label for label in mine if label not in wanted]
    first: dict[int, str] = {}
    for hit in hits:
        first.setdefault(sitting[hit.id], hit.id)
    return [first[label] for label in wanted]


CONTEXT_LIFT = (0.5, 0.35, 0.25)
CONTEXT_SOURCES = 50


def lift_neighbours(hits: list[Hit], store: Store, max_gap: timedelta) -> None:
    """Raise items said just before or after a strong item part of the way up to its score.

    An answer is often the line after the one that matches the question ("What did you take
    from the book?" … "It taught me self-acceptance"), and the matching line is often the one
    before it. An item one turn away rises `CONTEXT_LIFT[0]` of the gap between the two
    scores, two turns away `CONTEXT_LIFT[1]`, and so on, within one sitting (no step longer
    than `max_gap`). Only the best `CONTEXT_SOURCES` items lift others: an item below them can
    rise at most to its lifter's score, so the order of the head is exactly what lifting from
    every item would give. `hits` must be sorted best first.
    """
    sources = hits[:CONTEXT_SOURCES]
    holders: dict[int, list[int]] = {}
    for index, hit in enumerate(hits):
        part = part_of(hit.record.attrs) if isinstance(hit.record, EpisodeRecord) else None
        if part is not None and part[0] > 1:
            continue  # a long reply is lifted by its opening, not by every part of it
        for pk in hit.record.source_turn_pks:
            holders.setdefault(pk, []).append(index)
    seen = [set(h.record.source_turn_pks) for h in sources]
    frontier = [set(s) for s in seen]
    gain = [0.0] * len(hits)
    for share in CONTEXT_LIFT:
        asked = set().union(*frontier)
        if not asked:
            break
        near = store.turn_neighbors(sorted(asked), max_gap)
        for at, hit in enumerate(sources):
            reached = {n for pk in frontier[at] for n in near.get(pk, ())} - seen[at]
            seen[at] |= reached
            frontier[at] = reached
            for pk in reached:
                for other in holders.get(pk, ()):
                    gain[other] = max(gain[other], share * (hit.score - hits[other].score))
    for index, lift in enumerate(gain):
        if lift > 0.0:
            hits[index].score += lift


def demote_redundant(hits: list[Hit]) -> list[Hit]:
    """Move items whose every source turn is already in a better item to the back.

    A fact read off a turn adds nothing to a context that already holds the episode with
    that turn; keeping it near the top would spend the reader's budget twice. The further
    parts of a long turn go behind too: its best part already stands for the turn near the
    top, and the places below are worth more to other turns (on LongMemEval, where answers
    sit in long replies, sibling parts took several of the first ten places).
    """
    seen: set[int] = set()
    fresh: list[Hit] = []
    redundant: list[Hit] = []
    for hit in hits:
        sources = set(hit.record.source_turn_pks)
        (redundant if sources and sources <= seen else fresh).append(hit)
        seen |= sources
    if fresh and redundant and redundant[0].score > fresh[-1].score:
        # Scores stay descending (the contract says so): the demoted hits are shifted down
        # together, keeping their own order and spacing.
        floor, top = fresh[-1].score, redundant[0].score
        for hit in redundant:
            # min() guards against rounding lifting a shifted score past the floor.
            hit.score = min(floor, floor - (top - hit.score))
    return fresh + redundant


def _load(
    runtime: Runtime,
    scope: Scope,
    ids: list[str],
    fused: dict[str, float],
    waiting: dict[str, EpisodeRecord],
) -> list[Hit]:
    store = runtime.store
    stored = [i for i in ids if i.startswith("ep_") and i not in waiting]
    episodes = {e.id: e for e in store.get_episodes(scope, stored)}
    episodes.update((i, waiting[i]) for i in ids if i in waiting)
    facts = {f.id: f for f in store.get_facts(scope, [i for i in ids if i.startswith("ft_")])}
    hits: list[Hit] = []
    for item_id in ids:
        record: EpisodeRecord | FactRecord | None = episodes.get(item_id) or facts.get(item_id)
        if record is None:
            continue  # removed between ranking and loading
        kind: Literal["episode", "fact"] = "episode" if item_id.startswith("ep_") else "fact"
        hits.append(Hit(item_id, kind, record.text, fused[item_id], record))
    return hits
