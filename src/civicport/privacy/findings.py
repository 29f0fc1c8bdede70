"""What the scanner reports: one Finding per column and kind of personal data.

A finding never carries a raw value: its examples are masked (`j***@e***.org`,
`***-**-1234`), so findings can be logged, shown and stored without leaking what they warn of.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

KINDS = (
    "email",
    "phone",
    "ssn",
    "person_name",
    "street_address",
    "exact_location",
    "free_text",
    "small_count",
)

MAX_EXAMPLES = 3


@dataclass(frozen=True)
class Finding:
    """Column `column` (a field name) appears to hold personal data of kind `kind`."""

    column: str
    kind: str
    share: float  # fraction of the sampled non-empty values that matched
    examples: tuple[str, ...]  # at most MAX_EXAMPLES, masked
    message: str  # plain words for the publisher


# What each kind is, in words a publisher understands.
_WHAT = {
    "email": "email addresses",
    "phone": "phone numbers",
    "ssn": "what look like social security numbers",
    "person_name": "people's names",
    "street_address": "street addresses with house numbers",
    "exact_location": "exact locations",
    "free_text": "free-text notes, which often mention people",
    "small_count": "counts below 5",
}


def describe(
    display_name: str,
    kind: str,
    matched: int,
    sampled: int,
    *,
    detail: str = "",
) -> str:
    """'Column 'email' holds email addresses (98% of 1,000 sampled values)'."""
    share = matched / sampled if sampled else 0.0
    percent = round(share * 100)
    if percent == 0 and matched:
        percent_text = "<1%"
    elif percent == 100 and matched < sampled:
        percent_text = ">99%"
    else:
        percent_text = f"{percent}%"
    noun = "value" if sampled == 1 else "values"
    if kind == "small_count":
        counted = f"{matched:,} of {sampled:,} sampled {noun}"
    else:
        counted = f"{percent_text} of {sampled:,} sampled {noun}"
    return f"Column '{display_name}' holds {_WHAT[kind]}{detail} ({counted})"


# -- masking ----------------------------------------------------------------------------------

_DIGIT = re.compile(r"\d")
_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")


def mask(kind: str, value: Any) -> str:
    """`value` with what identifies a person hidden, keeping just enough to recognise the kind."""
    if kind == "email":
        return _mask_email(str(value))
    if kind in ("phone", "ssn"):
        return _mask_digits(str(value), keep=4)
    if kind == "person_name":
        return _WORD.sub(lambda m: m.group(0)[0] + "***", str(value).strip())
    if kind == "street_address":
        return _DIGIT.sub("#", str(value).strip().splitlines()[0] if str(value).strip() else "")
    if kind == "exact_location":
        return _mask_location(value)
    if kind == "free_text":
        return f"[text, {len(str(value)):,} characters]"
    if kind == "small_count":
        return "<5"
    raise ValueError(f"unknown kind {kind!r}")


def _mask_email(value: str) -> str:
    match = re.search(r"([^\s@<>()\[\],;:\"]+)@([A-Za-z0-9.-]+)", value)
    if not match:
        return "***@***"
    local, domain = match.groups()
    labels = domain.rstrip(".").split(".")
    tld = labels[-1] if len(labels) > 1 else ""
    return f"{local[0]}***@{domain[0]}***" + (f".{tld}" if tld else "")


def _mask_digits(value: str, *, keep: int) -> str:
    """Every digit but the last `keep` becomes '*' ('312-555-1234' → '***-***-1234')."""
    text = value.strip()
    total = sum(c.isdigit() for c in text)
    seen = 0
    out = []
    for c in text:
        if c.isdigit():
            seen += 1
            out.append(c if seen > total - keep else "*")
        else:
            out.append(c)
    return "".join(out)


def _mask_location(value: Any) -> str:
    if isinstance(value, tuple | list) and len(value) >= 2:
        try:
            lon, lat = float(value[0]), float(value[1])
        except (TypeError, ValueError):
            return "(…)"
        return f"({lon:.2f}…, {lat:.2f}…)"
    try:
        return f"{float(value):.2f}…"
    except (TypeError, ValueError):
        return "…"
