"""Scan a table for personal data: one pass over a sample of its rows, no storage, no HTTP.

    findings = scan_table(table.columns, rows, category="Public Safety")

Each rule counts the sampled non-empty values of a column that match, and flags the column
when the count reaches `threshold(n)` — at least 5% of the n values, and at least 3 of them
(or all of them, when there are fewer than 3) — so one stray value does not flag a column.
Small counts in an aggregate table are the exception: a single count of 1–4 is flagged, as
one small cell is enough to single a person out.

Rules, in the order they run (a column may get several findings):

* email, phone, ssn — regular expressions. Phones are US numbers with separators
  ("(312) 555-1234", "312.555.1234", "+1 312 555 1234"), and bare 10-digit numbers only in a
  column named like a phone. SSNs are ###-##-#### with the ranges the SSA never issues left
  out, and 9 bare digits only in a column named like an SSN.
* person_name — a column named like a person (name, owner, officer, victim, …, but not
  street_name, business/dba/restaurant name, …) whose values look like 2–3 capitalised words
  or "LAST, FIRST". A column with another name is flagged only when a good share (30%) of its
  values are name-shaped and hold a common given name.
* street_address — a house number, one to five words and a street suffix ("123 MAIN ST",
  "45 Park Avenue Apt 2"); "100 BLOCK OF MAIN ST" and "016XX W 77TH ST" are already general.
* exact_location — only when the dataset's category is sensitive (is_sensitive_category): point
  columns, and latitude/longitude number columns, with more than 4 decimal places.
* free_text — text columns whose median length exceeds 60 characters and that are named like
  notes (notes, comments, narrative, remarks, …) or mostly hold distinct sentences.
* small_count — in a table that looks aggregated (fewer than 10,000 rows and a column of whole
  numbers named count/total/n/number_of…), count values from 1 to 4.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from decimal import Decimal
from itertools import islice
from typing import Any

from civicport.ingest.records import ColumnSpec
from civicport.privacy.findings import MAX_EXAMPLES, Finding, describe, mask
from civicport.privacy.names import (
    BUSINESS_WORDS,
    COUNT_WORDS,
    GENERIC_PERSON_WORDS,
    GIVEN_NAMES,
    LATITUDE_WORDS,
    LONGITUDE_WORDS,
    NOT_COUNT_WORDS,
    NOT_PERSON_WORDS,
    NOTE_PHRASES,
    NOTE_WORDS,
    PERSON_WORDS,
    PHONE_WORDS,
    SENSITIVE_CATEGORY_PHRASES,
    SENSITIVE_CATEGORY_WORDS,
    SSN_WORDS,
)

MIN_SHARE = 0.05  # a rule needs at least this share of the sampled non-empty values …
MIN_MATCHES = 3  # … and at least this many of them (or all, if fewer were sampled)
NAME_GUESS_SHARE = 0.3  # a column not named like a person: share of values with a given name
GENERIC_NAME_SHARE = 0.2  # a column named just "name": share of values with a given name
DISTINCT_POINTS = 0.1  # fewer distinct points than this share: centroids, not exact places
FREE_TEXT_MEDIAN = 60  # characters
SENTENCE_SHARE = 0.5  # "mostly sentences"
FREE_TEXT_DISTINCT = 0.3  # repeated boilerplate (one template per status) is not notes
EXACT_DECIMALS = 4  # more decimal places than this is an exact location (~1 m)
AGGREGATE_MAX_ROWS = 10_000
SMALL_COUNT_MAX = 4

TEXT_TYPES = frozenset({"text", "url"})
NUMBER_TYPES = frozenset({"number", "double"})

_EMAIL = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# A US number with separators; area code and exchange never start with 0 or 1.
_PHONE = re.compile(
    r"(?<![\w-])(?:\+?1[\s.-]?)?(?:\([2-9]\d\d\)\s?|[2-9]\d\d[\s.-])[2-9]\d\d[\s.-]\d{4}(?![\w-])"
)
_BARE_PHONE = re.compile(r"\+?1?[2-9]\d\d[2-9]\d{6}")
# Area 000, 666 and 900–999, group 00 and serial 0000 are never issued.
_SSN = re.compile(r"(?<![\w-])(?!000|666|9)\d{3}-(?!00)\d\d-(?!0000)\d{4}(?![\w-])")
_BARE_SSN = re.compile(r"(?!000|666|9)\d{3}[\s-]?(?!00)\d\d[\s-]?(?!0000)\d{4}")

_SUFFIXES = (
    "street|st|avenue|ave|av|boulevard|blvd|road|rd|drive|dr|lane|ln|court|ct|place|pl|way|"
    "terrace|ter|parkway|pkwy|highway|hwy|circle|cir|square|sq|trail|trl|alley|aly|row|"
    "plaza|plz|expressway|expy|turnpike|tpke|loop|pike|crescent|cres|walk|path"
)
_ADDRESS = re.compile(
    r"\s*\d+[A-Za-z]?(?:-\d+[A-Za-z]?)?(?:\s+\d/\d)?\s+"
    r"(?:(?!block\b)[\w'.#-]+\s+){1,5}"
    rf"(?:{_SUFFIXES})\b"
    r"|\s*\d+[A-Za-z]?\s+broadway\b",
    re.IGNORECASE,
)

_CAP = r"[A-Z][A-Za-z'’.-]*"
_INITIAL = r"[A-Z]\.?"
_NAME_SUFFIX = r"(?:\s+(?:JR|SR|II|III|IV|Jr|Sr)\.?)?"
_NAME_SHAPE = re.compile(
    rf"{_CAP}(?:\s+(?:{_CAP}|{_INITIAL})){{1,2}}{_NAME_SUFFIX}"  # First [M] Last
    # LAST, FIRST [M]
    rf"|{_CAP}(?:[ -]{_CAP})?\s*,\s*{_CAP}(?:\s+(?:{_CAP}|{_INITIAL}))?{_NAME_SUFFIX}"
)
_SINGLE_NAME = re.compile(rf"{_CAP}")
_NAME_WORD = re.compile(r"[A-Za-z]+")
_POSSESSIVE = re.compile(r"[A-Za-z]['’][sS]\b")  # "Joe's Pizza" is a business
_SENTENCE_END = re.compile(r"[.,;!?](?:\s|$)")
_WORD_SPLIT = re.compile(r"[^a-z0-9]+")


def threshold(n: int) -> int:
    """How many of n sampled non-empty values a rule needs before it flags a column."""
    return max(math.ceil(MIN_SHARE * n), min(MIN_MATCHES, n))


def is_sensitive_category(category: str | None) -> bool:
    """Whether exact locations in a dataset of this category are sensitive (public safety,
    police, crime, health, …; words matched case-insensitively)."""
    if not category:
        return False
    text = category.lower()
    if any(phrase in text for phrase in SENSITIVE_CATEGORY_PHRASES):
        return True
    return not SENSITIVE_CATEGORY_WORDS.isdisjoint(_WORD_SPLIT.split(text))


def scan_table(
    columns: Sequence[ColumnSpec],
    rows: Iterable[Sequence[Any]],
    *,
    category: str | None,
    sample: int = 5000,
    total_rows: int | None = None,
) -> list[Finding]:
    """Findings of personal data in a table, in column order.

    `rows` may be a sequence (sampled evenly through it) or any iterable (its first `sample`
    rows are read — an iterator is consumed that far). `total_rows`, when the caller knows it
    and `rows` is not a sequence, lets the small-count rule tell an aggregate table.
    """
    picked, known_total = _sample(rows, sample)
    if known_total is None:
        known_total = total_rows
    sensitive = is_sensitive_category(category)
    per_column: list[list[Any]] = [[] for _ in columns]
    width = len(columns)
    for row in picked:
        for i, value in enumerate(row[:width]):
            if value is None or (isinstance(value, str) and not value.strip()):
                continue
            per_column[i].append(value)
    aggregated = (
        known_total is not None
        and known_total < AGGREGATE_MAX_ROWS
        and any(_is_count_column(c, v) for c, v in zip(columns, per_column, strict=True))
    )
    findings: list[Finding] = []
    for column, values in zip(columns, per_column, strict=True):
        if not values:
            continue
        words = _column_words(column)
        if column.soda_type in TEXT_TYPES:
            findings += _scan_text(column, words, values)
        elif column.soda_type in NUMBER_TYPES:
            findings += _scan_numbers(column, words, values, sensitive, category, aggregated)
        elif column.soda_type == "point" and sensitive:
            findings += _scan_points(column, values, category)
    return findings


# -- sampling and names -----------------------------------------------------------------------


def _sample(rows: Iterable[Sequence[Any]], sample: int) -> tuple[list[Sequence[Any]], int | None]:
    """Up to `sample` rows, and the table's row count when it is known."""
    if isinstance(rows, Sequence) and not isinstance(rows, str | bytes):
        n = len(rows)
        if n <= sample:
            return list(rows), n
        return [rows[(k * n) // sample] for k in range(sample)], n
    picked = list(islice(rows, sample))
    return picked, (len(picked) if len(picked) < sample else None)


def _column_words(column: ColumnSpec) -> frozenset[str]:
    """The words of a column's field and display names, lower-cased ('Last Name' → last,
    name), with the field name whole too ('social_security')."""
    field = column.field_name.lower()
    words = set(_WORD_SPLIT.split(field.replace("_", " ")))
    words.update(_WORD_SPLIT.split(column.display_name.lower()))
    words.add(field)
    words.discard("")
    return frozenset(words)


def _finding(
    column: ColumnSpec,
    kind: str,
    matched: int,
    sampled: int,
    examples: Sequence[Any],
    *,
    detail: str = "",
) -> Finding:
    masked: list[str] = []
    for value in examples:
        text = mask(kind, value)
        if text not in masked:
            masked.append(text)
        if len(masked) == MAX_EXAMPLES:
            break
    return Finding(
        column=column.field_name,
        kind=kind,
        share=matched / sampled if sampled else 0.0,
        examples=tuple(masked),
        message=describe(column.display_name, kind, matched, sampled, detail=detail),
    )


class _Tally:
    """Matches of one rule in one column: a weighted count and the first few examples."""

    __slots__ = ("count", "examples", "seen")

    def __init__(self, *, distinct: bool = False) -> None:
        self.count = 0
        self.examples: list[Any] = []
        self.seen: set[Any] | None = set() if distinct else None

    @property
    def distinct(self) -> int:
        return len(self.seen) if self.seen is not None else 0

    def add(self, value: Any, weight: int) -> None:
        self.count += weight
        if self.seen is not None:
            self.seen.add(tuple(value) if isinstance(value, list) else value)
        if len(self.examples) < MAX_EXAMPLES * 2:
            self.examples.append(value)


# -- text -------------------------------------------------------------------------------------


def _scan_text(column: ColumnSpec, words: frozenset[str], values: list[Any]) -> list[Finding]:
    counts = Counter(str(v).strip() for v in values)
    n = len(values)
    need = threshold(n)
    phone_named = not PHONE_WORDS.isdisjoint(words)
    ssn_named = not SSN_WORDS.isdisjoint(words) or "social security" in column.display_name.lower()
    person_named = not PERSON_WORDS.isdisjoint(words) and NOT_PERSON_WORDS.isdisjoint(words)
    single_word_names = person_named and not words.isdisjoint(
        {"first", "last", "firstname", "lastname", "surname", "forename", "givenname", "middle"}
    )
    name_excluded = not NOT_PERSON_WORDS.isdisjoint(words)

    email, phone, ssn, address = _Tally(), _Tally(), _Tally(), _Tally()
    shaped, given = _Tally(), _Tally()
    long_values, sentences = _Tally(), 0
    lengths: list[tuple[int, int]] = []
    for text, weight in counts.items():
        size = len(text)
        lengths.append((size, weight))
        if "@" in text and _EMAIL.search(text):
            email.add(text, weight)
        has_digit = any(c.isdigit() for c in text[:40]) or (size > 40 and _has_digit(text))
        if has_digit:
            if _PHONE.search(text) or (
                phone_named and _BARE_PHONE.fullmatch(_squeeze(text)) is not None
            ):
                phone.add(text, weight)
            if ("-" in text and _SSN.search(text)) or (
                ssn_named and _BARE_SSN.fullmatch(text) is not None
            ):
                ssn.add(text, weight)
            if text[0].isdigit() and _ADDRESS.match(text):
                address.add(text, weight)
        elif (
            size <= 60
            and not name_excluded
            and (
                _NAME_SHAPE.fullmatch(text) or (single_word_names and _SINGLE_NAME.fullmatch(text))
            )
        ):
            lowered = [w.lower() for w in _NAME_WORD.findall(text)]
            if BUSINESS_WORDS.isdisjoint(lowered) and not _POSSESSIVE.search(text):
                shaped.add(text, weight)
                if not GIVEN_NAMES.isdisjoint(lowered):
                    given.add(text, weight)
        if size > FREE_TEXT_MEDIAN:
            long_values.add(text, weight)
            if text.count(" ") >= 7 and _SENTENCE_END.search(text):
                sentences += weight

    findings: list[Finding] = []
    for kind, tally in (("email", email), ("phone", phone), ("ssn", ssn)):
        if tally.count >= need:
            findings.append(_finding(column, kind, tally.count, n, tally.examples))
    generic = (words & PERSON_WORDS) <= GENERIC_PERSON_WORDS
    if (
        person_named
        and shaped.count >= need
        and (not generic or given.count >= max(need, GENERIC_NAME_SHARE * n))
    ):
        findings.append(_finding(column, "person_name", shaped.count, n, shaped.examples))
    elif (
        not name_excluded
        and given.count >= need
        and given.count >= NAME_GUESS_SHARE * n
        and shaped.count >= 2 * NAME_GUESS_SHARE * n
    ):
        findings.append(_finding(column, "person_name", given.count, n, given.examples))
    if address.count >= need:
        findings.append(_finding(column, "street_address", address.count, n, address.examples))
    if _weighted_median(lengths) > FREE_TEXT_MEDIAN and long_values.count >= need:
        note_named = not NOTE_WORDS.isdisjoint(words) or any(
            p in column.display_name.lower() for p in NOTE_PHRASES
        )
        distinct = len(counts) / n
        if note_named or (sentences >= SENTENCE_SHARE * n and distinct >= FREE_TEXT_DISTINCT):
            findings.append(
                _finding(column, "free_text", long_values.count, n, long_values.examples)
            )
    return findings


def _has_digit(text: str) -> bool:
    return any(c.isdigit() for c in text)


def _squeeze(text: str) -> str:
    """'(312) 555 1234' → '3125551234'."""
    return "".join(c for c in text if c.isdigit() or c == "+")


def _weighted_median(pairs: list[tuple[int, int]]) -> float:
    total = sum(w for _, w in pairs)
    if not total:
        return 0.0
    half = total / 2
    seen = 0
    for size, weight in sorted(pairs):
        seen += weight
        if seen >= half:
            return float(size)
    return float(pairs[-1][0])


# -- numbers and points -----------------------------------------------------------------------


def _scan_numbers(
    column: ColumnSpec,
    words: frozenset[str],
    values: list[Any],
    sensitive: bool,
    category: str | None,
    aggregated: bool,
) -> list[Finding]:
    n = len(values)
    need = threshold(n)
    findings: list[Finding] = []
    if not PHONE_WORDS.isdisjoint(words) or not SSN_WORDS.isdisjoint(words):
        phone, ssn = _Tally(), _Tally()
        for value in values:
            digits = _whole_digits(value)
            if digits is None:
                continue
            if not PHONE_WORDS.isdisjoint(words) and _BARE_PHONE.fullmatch(digits):
                phone.add(digits, 1)
            if not SSN_WORDS.isdisjoint(words) and _BARE_SSN.fullmatch(digits.zfill(9)):
                ssn.add(digits.zfill(9), 1)
        for kind, tally in (("phone", phone), ("ssn", ssn)):
            if tally.count >= need:
                findings.append(_finding(column, kind, tally.count, n, tally.examples))
    if sensitive and not (LATITUDE_WORDS | LONGITUDE_WORDS).isdisjoint(words):
        exact = _Tally(distinct=True)
        in_range = True
        for value in values:
            number = float(value)
            if not -180.0 <= number <= 180.0:
                in_range = False
                break
            if _decimals(value) > EXACT_DECIMALS:
                exact.add(value, 1)
        if in_range and exact.count >= need and _spread(exact.distinct, exact.count):
            findings.append(
                _finding(
                    column,
                    "exact_location",
                    exact.count,
                    n,
                    exact.examples,
                    detail=_location_detail(category),
                )
            )
    if aggregated and _is_count_column(column, values):
        small = _Tally()
        for value in values:
            if _is_whole(value) and 1 <= value <= SMALL_COUNT_MAX:
                small.add(value, 1)
        if small.count:
            findings.append(
                _finding(
                    column,
                    "small_count",
                    small.count,
                    n,
                    small.examples,
                    detail=" in what looks like an aggregate table",
                )
            )
    return findings


def _scan_points(column: ColumnSpec, values: list[Any], category: str | None) -> list[Finding]:
    exact = _Tally(distinct=True)
    n = 0
    for value in values:
        if not isinstance(value, tuple | list) or len(value) < 2:
            continue
        n += 1
        lon, lat = value[0], value[1]
        if _decimals(lon) > EXACT_DECIMALS or _decimals(lat) > EXACT_DECIMALS:
            exact.add(value, 1)
    if not n or exact.count < threshold(n) or not _spread(exact.distinct, exact.count):
        return []
    detail = _location_detail(category)
    return [_finding(column, "exact_location", exact.count, n, exact.examples, detail=detail)]


def _spread(distinct: int, matched: int) -> bool:
    """Whether precise coordinates are many places, not a few centroids repeated (every death
    in a town placed at the town's centre is not an exact location)."""
    return distinct >= DISTINCT_POINTS * matched


def _location_detail(category: str | None) -> str:
    return (
        f" to more than {EXACT_DECIMALS} decimal places (within a few metres),"
        f" in a sensitive category ('{category}')"
    )


def _decimals(value: Any) -> int:
    """Decimal places a number is given to (41.753985 → 6, 41.75 → 2, 17 → 0)."""
    if isinstance(value, Decimal):
        exponent = value.normalize().as_tuple().exponent
        return -exponent if isinstance(exponent, int) and exponent < 0 else 0
    if isinstance(value, float):
        if not math.isfinite(value) or value.is_integer():
            return 0
        text = repr(value)
        if "e" in text or "E" in text:
            text = f"{value:.17f}".rstrip("0")
        return len(text.partition(".")[2])
    return 0


def _is_whole(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    if isinstance(value, float | Decimal):
        return math.isfinite(value) and value == int(value)
    return False


def _whole_digits(value: Any) -> str | None:
    if _is_whole(value) and value >= 0:
        return str(int(value))
    return None


def _is_count_column(column: ColumnSpec, values: list[Any]) -> bool:
    """A column of whole numbers ≥ 0 named like a count (count, total, n, number_of…)."""
    if column.soda_type not in NUMBER_TYPES or not values:
        return False
    words = _column_words(column)
    field = column.field_name.lower()
    named = not COUNT_WORDS.isdisjoint(words) or field.startswith(
        ("number_of", "num_", "count_", "total_", "n_")
    )
    if not named or not NOT_COUNT_WORDS.isdisjoint(words):
        return False
    whole = sum(1 for v in values if _is_whole(v) and v >= 0)
    return whole >= 0.9 * len(values)
