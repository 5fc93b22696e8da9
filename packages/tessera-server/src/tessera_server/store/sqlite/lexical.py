"""Exact in-memory BM25 per scope: postings appended in step with the database.

Scores follow SQLite FTS5's `bm25()` (k1 = 1.2, b = 0.75, IDF floored at 1e-6, every query
term its own phrase), with one difference on purpose: the corpus statistics (document
count, document frequencies, average length) are those of the scope being searched, so a
tenant's or user's scores never depend on anybody else's rows, and a search costs what
the scope's matches cost rather than everyone's.

Words are split as FTS5's `porter unicode61 remove_diacritics 2` tokenizer splits them:
lower-cased, letters and digits only, diacritics removed, then Porter-stemmed (PyStemmer).

Postings are term-major CSR arrays (sealed) plus a small unsorted tail of recent appends;
the tail is merged into the CSR arrays, in time linear in the postings, once it grows.
Every array a snapshot refers to is either replaced or only written past the snapshot's
end, so a search can score its snapshot while another thread appends.
"""

from __future__ import annotations

import math
import re
import sys
import threading
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import Stemmer

K1 = 1.2
B = 0.75
MAX_QUERY_TERMS = 64
# Merge the tail once it holds this many postings (or a quarter of the sealed ones, if
# more): searches scan the tail linearly, merges cost time linear in all postings.
TAIL_MIN = 4096
TAIL_MAX = 1 << 17

_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
# Bytes that belong to words: ASCII letters and digits (after lower-casing), and every
# byte of a multi-byte UTF-8 character (non-ASCII separators are removed beforehand).
_SPLIT = bytes(b if (48 <= b <= 57 or 97 <= b <= 122 or b >= 128) else 32 for b in range(256))

Ints = npt.NDArray[np.int32]
Ints64 = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]

_local = threading.local()


def _stemmer() -> Stemmer.Stemmer:
    """A stemmer for this thread: PyStemmer's objects must not be shared between threads."""
    stemmer = getattr(_local, "stemmer", None)
    if stemmer is None:
        stemmer = _local.stemmer = Stemmer.Stemmer("porter")
    return stemmer


def _fold(run: re.Match[str]) -> str:
    """A run of non-ASCII characters: diacritics removed, other non-word characters spaces."""
    text = unicodedata.normalize("NFD", run.group())
    return "".join(
        c if c.isalnum() else " " for c in text if c.isascii() or not unicodedata.combining(c)
    )


def _plain(text: str) -> str:
    """A lower-cased text whose non-ASCII characters are all letters or digits, diacritics
    removed, so that splitting its UTF-8 at ASCII non-word bytes finds its words."""
    return text if text.isascii() else _NON_ASCII.sub(_fold, text)


def words(text: str) -> list[bytes]:
    """The words of a text, lower-cased and without diacritics (UTF-8), not yet stemmed."""
    return list(_plain(text.lower()).encode().translate(_SPLIT).split())


def stem(word: str) -> str:
    """A word's Porter stem, as FTS5's `porter` tokenizer would index it."""
    return str(_stemmer().stemWord(word))


def tokenize(text: str) -> list[str]:
    """Stemmed tokens of a text (for tests and diagnostics; indexing goes by `words`)."""
    return [stem(w.decode()) for w in words(text)]


def _grow(array: npt.NDArray[np.generic], needed: int) -> npt.NDArray[np.generic]:
    """The array with room for `needed` items: a new one (never resized in place)."""
    if needed <= len(array):
        return array
    size = max(needed, 2 * len(array), 64)
    out = np.empty(size, array.dtype)
    out[: len(array)] = array
    return out


# Words are found and hashed in bulk with numpy: a byte belongs to a word when it is an
# ASCII letter or digit or part of a multi-byte character (texts with non-ASCII characters
# go through `words` first, which leaves only word characters and spaces). A word's id is
# a 64-bit polynomial hash of its bytes; distinct words colliding is a 1-in-10^9 event
# even at millions of distinct words, and would only merge their counts.
_IS_WORD = np.array([48 <= b <= 57 or 97 <= b <= 122 or b >= 128 for b in range(256)])
_BASE = 0x100000001B3
_BASE_INV = pow(_BASE, -1, 1 << 64)
_MIX = np.uint64(0x9E3779B97F4A7C15)
_CHUNK_BYTES = 1 << 18
_powers_lock = threading.Lock()
_powers: tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64]] = (
    np.ones(1, np.uint64),
    np.ones(1, np.uint64),
)


def _power_tables(n: int) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64]]:
    """BASE**i and BASE**-i modulo 2**64 for i < n (wrapping uint64 arithmetic)."""
    global _powers
    with _powers_lock:
        if len(_powers[0]) >= n:
            return _powers
        size = max(n, 2 * len(_powers[0]), 1 << 16)
        up = np.full(size, _BASE, np.uint64)
        down = np.full(size, _BASE_INV, np.uint64)
        up[0] = down[0] = 1
        tables = (np.cumprod(up, dtype=np.uint64), np.cumprod(down, dtype=np.uint64))
        if size <= 4 * _CHUNK_BYTES:  # kept for next time unless one text was huge
            _powers = tables
        return tables


def _hash_words(buf: bytes) -> tuple[Ints64, Ints64, npt.NDArray[np.uint64]]:
    """Start and end offsets of the words in a lower-cased UTF-8 buffer, and their hashes."""
    data = np.frombuffer(buf, np.uint8)
    inside = _IS_WORD[data].view(np.int8)
    edges = np.diff(inside, prepend=np.int8(0), append=np.int8(0))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)
    up, down = _power_tables(len(data) + 1)
    prefix = np.zeros(len(data) + 1, np.uint64)
    np.cumsum(data.astype(np.uint64) * up[: len(data)], out=prefix[1:])
    hashes = (prefix[ends] - prefix[starts]) * down[starts]
    hashes ^= (ends - starts).astype(np.uint64) * _MIX
    # Finish with splitmix64's mixer (a bijection), so that the top bits, which pick the
    # lookup bucket, depend on every byte.
    hashes ^= hashes >> np.uint64(30)
    hashes *= np.uint64(0xBF58476D1CE4E5B9)
    hashes ^= hashes >> np.uint64(27)
    hashes *= np.uint64(0x94D049BB133111EB)
    hashes ^= hashes >> np.uint64(31)
    return starts, ends, hashes


@dataclass(frozen=True)
class LexicalSnapshot:
    """What a search sees: the first `n_docs` documents, immutable while it is used."""

    n_docs: int
    total_len: int
    doc_len: Ints
    indptr: npt.NDArray[np.int64]
    docs: Ints
    tfs: npt.NDArray[np.uint16]
    tail_tid: Ints
    tail_doc: Ints
    tail_tf: npt.NDArray[np.uint16]
    index: Postings
    # Documents removed since they were indexed (None when none were): never matched, and
    # left out of the statistics, so scores equal those of an index built without them.
    removed: npt.NDArray[np.bool_] | None = None
    removed_docs: int = 0
    removed_len: int = 0

    def score(self, terms: Sequence[str]) -> tuple[Ints, Floats]:
        """Documents matching any term and their BM25 scores (unordered)."""
        n = self.n_docs
        live = n - self.removed_docs
        if live <= 0:
            return np.zeros(0, np.int32), np.zeros(0, np.float64)
        live_len = self.total_len - self.removed_len
        avgdl = live_len / live if live_len else 1.0
        n_sealed = len(self.indptr) - 1
        acc = np.zeros(n, np.float64)
        for tid in self.index.term_ids(terms):
            parts_d: list[Ints] = []
            parts_f: list[npt.NDArray[np.uint16]] = []
            if tid < n_sealed:
                lo, hi = int(self.indptr[tid]), int(self.indptr[tid + 1])
                if hi > lo:
                    parts_d.append(self.docs[lo:hi])
                    parts_f.append(self.tfs[lo:hi])
            if len(self.tail_tid):
                found = self.tail_tid == tid
                if found.any():
                    parts_d.append(self.tail_doc[found])
                    parts_f.append(self.tail_tf[found])
            if not parts_d:
                continue
            d = parts_d[0] if len(parts_d) == 1 else np.concatenate(parts_d)
            tf = (parts_f[0] if len(parts_f) == 1 else np.concatenate(parts_f)).astype(np.float64)
            if self.removed is not None:
                kept = ~self.removed[d]
                d, tf = d[kept], tf[kept]
            hits = len(d)
            if not hits:
                continue
            idf = math.log((live - hits + 0.5) / (hits + 0.5))
            if idf <= 0.0:
                idf = 1e-6
            norm = K1 * (1.0 - B + B * self.doc_len[d] / avgdl)
            # A document appears once per term, so plain fancy-index addition is exact.
            acc[d] += idf * tf * (K1 + 1.0) / (tf + norm)
        matched = np.flatnonzero(acc).astype(np.int32)
        return matched, acc[matched]


@dataclass(frozen=True)
class _Vocabulary:
    """Word hashes (sorted) and their term ids, bucketed by the hashes' top bits (at most
    a quarter full), so a lookup is a few gathers rather than a binary search per word.
    Replaced whole when words are added, so a reader never sees parts of two versions."""

    hashes: npt.NDArray[np.uint64]
    terms: Ints
    shift: np.uint64
    slots: Ints64  # index of the first hash of each bucket, and one past the last

    @classmethod
    def of(cls, hashes: npt.NDArray[np.uint64], terms: Ints) -> _Vocabulary:
        order = np.argsort(hashes, kind="stable")
        hashes, terms = hashes[order], terms[order]
        bits = max(4, (4 * len(hashes)).bit_length())
        shift = np.uint64(64 - bits)
        slots = np.searchsorted((hashes >> shift).astype(np.int64), np.arange((1 << bits) + 1))
        return cls(hashes, terms, shift, slots.astype(np.int64))

    def lookup(self, hashes: npt.NDArray[np.uint64]) -> tuple[Ints, npt.NDArray[np.bool_]]:
        known = self.hashes
        found = np.zeros(len(hashes), np.bool_)
        if not len(known):
            return np.zeros(len(hashes), np.int32), found
        slot = (hashes >> self.shift).astype(np.int64)
        at, end = self.slots[slot], self.slots[slot + 1]
        todo = np.flatnonzero(at < end)
        while len(todo):
            hit = known[at[todo]] == hashes[todo]
            found[todo[hit]] = True
            todo = todo[~hit]
            at[todo] += 1
            todo = todo[at[todo] < end[todo]]
        return self.terms[np.minimum(at, len(known) - 1)], found

    @property
    def nbytes(self) -> int:
        return self.hashes.nbytes + self.terms.nbytes + self.slots.nbytes


class Postings:
    """Append-only postings of one scope's documents (one table), with their vocabulary."""

    def __init__(self) -> None:
        self._vocab = _Vocabulary.of(np.zeros(0, np.uint64), np.zeros(0, np.int32))
        self.stems: dict[str, int] = {}  # stem -> term id (many words share a stem)
        self.n_docs = 0
        self.total_len = 0
        self.doc_len: Ints = np.zeros(0, np.int32)
        self.indptr: npt.NDArray[np.int64] = np.zeros(1, np.int64)
        self.docs: Ints = np.zeros(0, np.int32)
        self.tfs: npt.NDArray[np.uint16] = np.zeros(0, np.uint16)
        self.removed: npt.NDArray[np.bool_] | None = None  # by document, once one is removed
        self.removed_docs = 0
        self.removed_len = 0
        self._new_tail()

    def _new_tail(self) -> None:
        self.tail_n = 0
        self.tail_tid: Ints = np.zeros(0, np.int32)
        self.tail_doc: Ints = np.zeros(0, np.int32)
        self.tail_tf: npt.NDArray[np.uint16] = np.zeros(0, np.uint16)

    # -- vocabulary --------------------------------------------------------------------

    def _lookup(self, hashes: npt.NDArray[np.uint64]) -> tuple[Ints, npt.NDArray[np.bool_]]:
        """Term ids of word hashes, and which were known (the others' ids are junk)."""
        return self._vocab.lookup(hashes)

    def _learn(
        self, buf: bytes, starts: Ints64, ends: Ints64, hashes: npt.NDArray[np.uint64]
    ) -> None:
        """Add new words (hash, with one occurrence in `buf` each) to the vocabulary."""
        new, first = np.unique(hashes, return_index=True)
        stemmer = _stemmer()
        terms = np.empty(len(new), np.int32)
        for i, at in enumerate(first.tolist()):
            word = buf[starts[at] : ends[at]].decode("utf-8", "replace")
            terms[i] = self.stems.setdefault(str(stemmer.stemWord(word)), len(self.stems))
        old = self._vocab
        self._vocab = _Vocabulary.of(
            np.concatenate([old.hashes, new]), np.concatenate([old.terms, terms])
        )

    def term_ids(self, terms: Sequence[str]) -> list[int]:
        """Known term ids of query terms, one per token (repeats kept, as FTS5 would)."""
        found = [word for term in terms[:MAX_QUERY_TERMS] for word in words(term)]
        if not found:
            return []
        # All of them hashed in one pass: a word's hash does not depend on where it stands.
        _, _, hashes = _hash_words(b" ".join(found))
        tids, known = self._lookup(hashes)
        out: list[int] = []
        for word, tid, hit in zip(found, tids.tolist(), known.tolist(), strict=True):
            if hit:
                out.append(int(tid))
            else:
                stemmed = self.stems.get(stem(word.decode("utf-8", "replace")))
                if stemmed is not None:
                    out.append(stemmed)
        return out

    # -- appending ---------------------------------------------------------------------

    def append(self, texts: Sequence[str], *, settle: bool = True) -> None:
        """Index documents `n_docs, n_docs + 1, ...` in order. Without `settle`, the tail
        is left to grow until `settle()` (for one large load in several batches)."""
        start = 0
        while start < len(texts):
            end, size = start, 0
            while end < len(texts) and (end == start or size < _CHUNK_BYTES):
                size += len(texts[end]) + 1
                end += 1
            self._append_chunk(texts[start:end])
            start = end
        if settle:
            self.settle()

    def settle(self) -> None:
        """Merge the tail if it has grown past what searches should scan."""
        if self.tail_n >= max(TAIL_MIN, min(TAIL_MAX, len(self.docs) // 4)):
            self.merge()

    def _append_chunk(self, texts: Sequence[str]) -> None:
        encoded = [_plain(t.lower()).encode() for t in texts]
        buf = b"\n".join(encoded)
        starts, ends, hashes = _hash_words(buf)
        tids, known = self._lookup(hashes)
        if not known.all():
            self._learn(buf, starts[~known], ends[~known], hashes[~known])
            tids, known = self._lookup(hashes)
        doc_ends = np.cumsum(np.fromiter(map(len, encoded), np.int64, len(encoded)) + 1)
        lens = np.diff(np.searchsorted(starts, doc_ends), prepend=0)
        doc_of = np.repeat(np.arange(len(texts), dtype=np.int64), lens)
        first = self.n_docs
        self.doc_len = _grow(self.doc_len, first + len(texts))  # type: ignore[assignment]
        if self.removed is not None:
            removed: npt.NDArray[np.bool_] = _grow(self.removed, first + len(texts))  # type: ignore[assignment]
            removed[first : first + len(texts)] = False
            self.removed = removed
        self.doc_len[first : first + len(texts)] = lens
        if len(hashes):
            keys = (tids.astype(np.int64) << 32) | (doc_of + first)
            keys.sort()
            bounds = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
            counts = np.diff(np.append(bounds, len(keys)))
            unique = keys[bounds]
            end = self.tail_n + len(unique)
            self.tail_tid = _grow(self.tail_tid, end)  # type: ignore[assignment]
            self.tail_doc = _grow(self.tail_doc, end)  # type: ignore[assignment]
            self.tail_tf = _grow(self.tail_tf, end)  # type: ignore[assignment]
            self.tail_tid[self.tail_n : end] = unique >> 32
            self.tail_doc[self.tail_n : end] = unique & 0xFFFFFFFF
            self.tail_tf[self.tail_n : end] = np.minimum(counts, 65535)
            self.tail_n = end
        self.n_docs = first + len(texts)
        self.total_len += len(hashes)

    def merge(self) -> None:
        """Fold the tail into the sealed CSR arrays (new arrays; snapshots keep the old)."""
        n = self.tail_n
        if n == 0:
            return
        tid, doc, tf = self.tail_tid[:n], self.tail_doc[:n], self.tail_tf[:n]
        if n > 1 and not bool(np.all(tid[1:] >= tid[:-1])):
            # Stable: within a term, documents stay in the ascending order they came in.
            order = np.argsort(tid, kind="stable")
            tid, doc, tf = tid[order], doc[order], tf[order]
        vocab = len(self.stems)
        tail_counts = np.bincount(tid, minlength=vocab)
        sealed_counts = np.zeros(vocab, np.int64)
        sealed_counts[: len(self.indptr) - 1] = np.diff(self.indptr)
        indptr = np.zeros(vocab + 1, np.int64)
        np.cumsum(sealed_counts + tail_counts, out=indptr[1:])
        size = int(indptr[-1])
        docs = np.empty(size, np.int32)
        tfs = np.empty(size, np.uint16)
        if len(self.docs):
            old = len(self.indptr) - 1
            shift = indptr[:old] - self.indptr[:old]
            at = np.arange(len(self.docs), dtype=np.int64) + np.repeat(shift, sealed_counts[:old])
            docs[at] = self.docs
            tfs[at] = self.tfs
        tail_start = np.zeros(vocab, np.int64)
        np.cumsum(tail_counts[:-1], out=tail_start[1:])
        at = np.arange(n, dtype=np.int64) + np.repeat(
            indptr[:-1] + sealed_counts - tail_start, tail_counts
        )
        docs[at] = doc
        tfs[at] = tf
        self.indptr, self.docs, self.tfs = indptr, docs, tfs
        self._new_tail()

    def remove(self, docs: Ints64) -> None:
        """Documents deleted from the database: they match nothing from now on and leave the
        statistics. A new array, so snapshots already taken keep the one they have."""
        removed = np.zeros(len(self.doc_len), np.bool_)
        if self.removed is not None:
            removed[: self.n_docs] = self.removed[: self.n_docs]
        fresh = np.unique(docs[~removed[docs]])
        removed[fresh] = True
        self.removed_docs += len(fresh)
        self.removed_len += int(self.doc_len[fresh].sum())
        self.removed = removed

    # -- reading -----------------------------------------------------------------------

    def snapshot(self) -> LexicalSnapshot:
        n = self.tail_n
        return LexicalSnapshot(
            n_docs=self.n_docs,
            total_len=self.total_len,
            doc_len=self.doc_len[: self.n_docs],
            indptr=self.indptr,
            docs=self.docs,
            tfs=self.tfs,
            tail_tid=self.tail_tid[:n],
            tail_doc=self.tail_doc[:n],
            tail_tf=self.tail_tf[:n],
            index=self,
            removed=None if self.removed is None else self.removed[: self.n_docs],
            removed_docs=self.removed_docs,
            removed_len=self.removed_len,
        )

    @property
    def nbytes(self) -> int:
        """Approximate memory held, arrays and vocabulary together."""
        arrays: tuple[npt.NDArray[np.generic], ...] = (
            self.doc_len,
            self.indptr,
            self.docs,
            self.tfs,
        )
        if self.removed is not None:
            arrays += (self.removed,)
        tails = (self.tail_tid, self.tail_doc, self.tail_tf)
        vocab = self._vocab.nbytes
        vocab += sys.getsizeof(self.stems)
        # Stem strings: about 50 bytes of object header plus their characters each.
        vocab += 56 * len(self.stems)
        return sum(a.nbytes for a in arrays) + sum(a.nbytes for a in tails) + vocab
