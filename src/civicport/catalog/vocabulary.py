"""What a catalog search looks for and which datasets have it: words, plurals, typos.

A search box receives whatever people type. `read_query` turns it into words (a Unicode word
regex; at most MAX_WORDS of at most MAX_WORD_LENGTH characters, so a pasted essay costs no more
than a sentence), folds English plurals onto their singular, and checks each word against the
vocabulary of the datasets the reader may see. A word found nowhere in that vocabulary (a typo,
or a missing accent) is replaced by the vocabulary words a small edit away ("restaraunt" →
"restaurant"). The vocabulary holds only visible datasets' words, so a private dataset can never
steer, or be revealed by, a public search.

Matching is case-insensitive substring search: a "term" is the strings any of which a dataset's
text must contain, and a dataset matches when it has every term. The text is read once per
catalog change (`_VocabularyCache`), so a search costs a stamp query and string tests in C.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections import OrderedDict, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from civicport.catalog.search import ReadScope, scope_filter
from civicport.db.schema import dataset_columns, datasets

MAX_WORDS = 12
MAX_WORD_LENGTH = 64
# A word a typo away stands in for an unknown one; this many at most, the closest first.
MAX_CORRECTIONS = 8
MAX_REMEMBERED_TYPOS = 1024

_WORD = re.compile(r"\w+")
# Words whose trailing "s" is not a plural; cutting it would widen the search for nothing.
_NOT_PLURAL = frozenset({"news", "series", "species", "always", "canvas", "christmas", "lens"})

Term = tuple[str, ...]


@dataclass(frozen=True)
class QueryReading:
    """A query as searched: its words, one term per word, the words taken to be typos, and the
    visible datasets that match every term (None when there are no words: all of them)."""

    words: tuple[str, ...] = ()
    terms: tuple[Term, ...] = ()
    corrections: dict[str, Term] = field(default_factory=dict)
    dataset_ids: frozenset[str] | None = None


def query_words(q: str) -> tuple[str, ...]:
    """The distinct words of `q`, lower-cased and singular, in order; at most MAX_WORDS."""
    words: list[str] = []
    for match in _WORD.finditer(q):
        word = singular(match.group().lower()[:MAX_WORD_LENGTH])
        if word not in words:
            words.append(word)
            if len(words) == MAX_WORDS:
                break
    return tuple(words)


def singular(word: str) -> str:
    """The singular of an English plural, by suffix rules only ("libraries" → "library",
    "boxes" → "box", "permits" → "permit"). Deliberately boring: each result is a prefix of the
    word (or, for "-ies", covered by `forms`), so matching only ever widens."""
    if len(word) <= 3 or not word.isalpha() or word in _NOT_PLURAL:
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "shes", "ches", "xes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def forms(word: str) -> Term:
    """The strings that stand for `word` in substring matching. A singular in consonant + "y"
    is not a substring of its plural, so "library" also looks for "librarie" (in "libraries")."""
    if len(word) >= 4 and word.endswith("y") and word[-2] not in "aeiouy" and word.isalpha():
        return (word, word[:-1] + "ie")
    return (word,)


def fold(text: str) -> str:
    """`text` without accents ("café" → "cafe"), for comparing words as people type them."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def max_typos(word: str) -> int:
    """How many edits a word may be from what was meant: none under 4 letters (too many short
    words are one edit apart) or with digits (2019 is not a typo of 2018), 1 up to 7, else 2."""
    if len(word) < 4 or not word.isalpha():
        return 0
    return 1 if len(word) <= 7 else 2


def edit_distance(a: str, b: str, limit: int) -> int:
    """Damerau–Levenshtein distance (optimal string alignment: adjacent transpositions count
    one), or `limit + 1` as soon as it is known to exceed `limit`."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    before: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], before[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        before, previous = previous, current
    return min(previous[-1], limit + 1)


class Vocabulary:
    """The searchable text of the datasets a reader may see, ready for what a search asks: which
    datasets contain a string, does any, and which words are a typo away from a word.

    Matching here, on text read once per catalog change, replaces a LIKE per field and column
    per query in SQL (tens of milliseconds for a thousand datasets); SQL still applies the
    filters, the access rule and the order.
    """

    def __init__(self, documents: dict[str, str]) -> None:
        """`documents`: each dataset's searchable text, lower-cased, one field per line."""
        self._documents = documents
        words = set(_WORD.findall("\n".join(documents.values())))
        # Query strings hold no newline, so a substring test on text joined by newlines is
        # exactly "occurs in some field" (or "in some word"), done in C.
        self._words = "\n".join(words)
        by_length: defaultdict[int, list[tuple[str, frozenset[str], str]]] = defaultdict(list)
        for part in {part for word in words for part in word.split("_")}:
            if part.isalpha():
                folded = fold(part)
                by_length[len(folded)].append((folded, frozenset(folded), part))
        self._by_length = dict(by_length)
        # Typos found, per word: people page through the results of the same search. Each
        # dict operation is atomic; two threads racing at worst compute one answer twice.
        self._near: dict[str, Term] = {}

    def __contains__(self, fragment: str) -> bool:
        return fragment in self._words

    def matching(self, terms: Sequence[Term]) -> frozenset[str]:
        """Ids of the datasets whose text contains, for every term, one of its strings."""
        remaining = list(self._documents.items())
        for term in terms:
            remaining = [(i, text) for i, text in remaining if any(s in text for s in term)]
        return frozenset(dataset_id for dataset_id, _ in remaining)

    def near(self, word: str) -> Term:
        """Vocabulary words within `max_typos(word)` edits of `word` (accents aside), closest
        first; a word that contains another one found is left out, as matching it adds nothing."""
        found = self._near.get(word)
        if found is None:
            if len(self._near) >= MAX_REMEMBERED_TYPOS:
                self._near.clear()
            found = self._near[word] = self._closest(word)
        return found

    def _closest(self, word: str) -> Term:
        limit = max_typos(word)
        if not limit:
            return ()
        target = fold(word)
        letters = frozenset(target)
        distances: dict[str, int] = {}
        for length in range(len(target) - limit, len(target) + limit + 1):
            for folded, folded_letters, surface in self._by_length.get(length, ()):
                # Each edit changes the set of letters by at most two: a cheap test first.
                if len(letters ^ folded_letters) > 2 * limit:
                    continue
                distance = edit_distance(target, folded, limit)
                if distance <= limit:
                    distances[surface] = min(distance, distances.get(surface, distance))
        kept = [w for w in distances if not any(o != w and o in w for o in distances)]
        return tuple(sorted(kept, key=lambda w: (distances[w], w))[:MAX_CORRECTIONS])

    def read(self, words: Sequence[str]) -> QueryReading:
        """One term per word: the word's forms if any occurs here, else the words it is a typo
        of (reported as a correction), else the word itself, which will match nothing."""
        terms: list[Term] = []
        corrections: dict[str, Term] = {}
        for word in words:
            term = forms(word)
            if not any(f in self for f in term):
                near = self.near(word)
                if near:
                    corrections[word] = term = near
            terms.append(term)
        return QueryReading(tuple(words), tuple(terms), corrections, self.matching(terms))


def read_query(conn: sa.Connection, q: str, scope: ReadScope | None) -> QueryReading:
    """What to search for `q` among the datasets in `scope` (None: every dataset). Only their
    words are ever suggested, so a correction never reveals a dataset the reader may not see."""
    words = query_words(q)
    if not words:
        return QueryReading()
    return _vocabularies.get(conn, scope).read(words)


def _catalog_stamp(conn: sa.Connection, scope: ReadScope | None) -> tuple[Any, ...]:
    """Changes whenever a visible dataset is added, removed, edited or reloaded: one cheap
    aggregate, so the vocabulary is rebuilt only when the catalog changes."""
    query = sa.select(
        sa.func.count(),
        sa.func.max(datasets.c.metadata_updated_at),
        sa.func.max(datasets.c.data_updated_at),
    ).where(scope_filter(scope))
    return tuple(conn.execute(query).one())


def _documents(conn: sa.Connection, scope: ReadScope | None) -> dict[str, str]:
    """Each dataset's searchable text, lower-cased, for the datasets in `scope`: title,
    description, category, department, tags, and its columns' names and descriptions."""
    visible = scope_filter(scope)
    fields: dict[str, list[str]] = {}
    for dataset_id, title, description, category, department, tags in conn.execute(
        sa.select(
            datasets.c.id,
            datasets.c.title,
            datasets.c.description,
            datasets.c.category,
            datasets.c.department,
            datasets.c.tags,
        ).where(visible)
    ):
        fields[dataset_id] = [title, description, category or "", department or "", *(tags or ())]
    columns = sa.select(
        dataset_columns.c.dataset_id,
        dataset_columns.c.field_name,
        dataset_columns.c.display_name,
        dataset_columns.c.description,
    ).join(datasets, datasets.c.id == dataset_columns.c.dataset_id)
    for dataset_id, *texts in conn.execute(columns.where(visible)):
        fields[dataset_id] += texts
    return {dataset_id: "\n".join(texts).lower() for dataset_id, texts in fields.items()}


class _VocabularyCache:
    """Vocabularies per (database, read scope), reused while the catalog stamp is unchanged.

    Building one reads every visible dataset's text; the stamp is one aggregate. Few entries are
    ever live (anonymous readers, staff, admins, and the publishers whose private datasets widen
    their scope), so a small LRU is plenty, and nothing cached outlives a stale stamp, so several
    app processes need no coordination.
    """

    MAX_ENTRIES = 32

    def __init__(self) -> None:
        self._entries: OrderedDict[tuple[Any, ...], tuple[tuple[Any, ...], Vocabulary]]
        self._entries = OrderedDict()
        self._lock = threading.Lock()

    def get(self, conn: sa.Connection, scope: ReadScope | None) -> Vocabulary:
        key = (str(conn.engine.url), None if scope is None else scope.key())
        stamp = _catalog_stamp(conn, scope)
        with self._lock:
            cached = self._entries.get(key)
            if cached is not None and cached[0] == stamp:
                self._entries.move_to_end(key)
                return cached[1]
        vocabulary = Vocabulary(_documents(conn, scope))
        with self._lock:
            self._entries[key] = (stamp, vocabulary)
            self._entries.move_to_end(key)
            while len(self._entries) > self.MAX_ENTRIES:
                self._entries.popitem(last=False)
        return vocabulary


_vocabularies = _VocabularyCache()
