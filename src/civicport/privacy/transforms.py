"""Ways to resolve a finding: generalise, hash, drop, or accept a value.

    hundred_block("1234 N Main St")        # '1200 BLOCK OF N MAIN ST'
    coarsen_point(-87.664263, 41.753985)   # (-87.664, 41.754)
    hash_value("jane@example.org", salt=s) # 16 hex characters, the same for the same salt

All are pure functions of their arguments.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Any

DECISIONS = ("drop", "hash", "generalize", "accept")

# A leading house number: '1234', '12A', '1234-36' (a range), Queens' '133-22', '12 1/2'.
_HOUSE = re.compile(
    r"^\s*(?P<number>\d+)(?P<letter>[A-Za-z])?(?:-(?P<second>\d+)[A-Za-z]?)?(?:\s+\d/\d)?"
    r"\s+(?P<rest>\S.*)$",
    re.DOTALL,
)
# A unit after the street: 'Apt 2', 'Unit 3B', 'Suite 100', '#5', 'Fl 2'.
_UNIT = re.compile(
    r"\s*,?\s*(?:#\s*\w+"
    r"|\b(?:apt|apartment|unit|ste|suite|rm|room|fl|floor|bldg|lot)\b\.?\s*#?\s*[\w-]+)",
    re.IGNORECASE,
)


def hundred_block(address: str) -> str:
    """The address generalised to its hundred block ('1234 N Main St' → '1200 BLOCK OF N MAIN
    ST'; '7 Elm St' → '0 BLOCK OF ELM ST'). Units (apartment, suite, '#5') are removed, as they
    single out a home. Text without a leading house number is returned unchanged."""
    match = _HOUSE.match(address)
    if match is None:
        return address
    first, second = match.group("number"), match.group("second")
    rest = match.group("rest")
    if rest.upper().startswith("BLOCK OF"):
        return address
    street, comma, tail = rest.partition(",")
    street = _UNIT.sub("", street).strip()
    tail = _UNIT.sub("", tail) if comma else ""
    if second is not None and len(first) >= 2 and len(second) >= 2 and len(first) <= 3:
        block = f"{first}-00"  # Queens-style '133-22 89 Ave': the block is the first number
    else:
        block = str(int(first) // 100 * 100)
    text = f"{block} BLOCK OF {' '.join(street.upper().split())}"
    tail = " ".join(tail.split()).upper()
    return f"{text}, {tail}" if tail else text


def coarsen_point(lon: float, lat: float, *, digits: int = 3) -> tuple[float, float]:
    """The point rounded to a grid of `digits` decimal places (3: about 100 m, 2: about 1 km)."""
    if digits < 0:
        raise ValueError("digits must be 0 or more")
    return round(float(lon), digits), round(float(lat), digits)


def hash_value(value: str, *, salt: str) -> str:
    """HMAC-SHA256 of `value` keyed by `salt`, as 16 hex characters. The same value and salt
    give the same hash, so a hashed column still joins; without the salt it cannot be
    reversed by hashing guesses. Keep one secret salt per portal (or per dataset)."""
    if not salt:
        raise ValueError("a salt is required: an unsalted hash of a name or email is reversible")
    digest = hmac.new(salt.encode("utf-8"), value.encode("utf-8"), hashlib.sha256)
    return digest.hexdigest()[:16]


def apply_decision(
    decision: str,
    kind: str,
    value: Any,
    *,
    salt: str | None = None,
    digits: int = 3,
) -> Any:
    """One value of a flagged column after the publisher's decision on it.

    * "drop": None (the caller removes the column itself);
    * "hash": hash_value of the value's text (needs `salt`); None stays None;
    * "generalize": street_address → hundred_block, exact_location → coarsen_point (a point
      tuple or a single coordinate), small_count → None when 1–4 (suppressed), else unchanged;
      other kinds cannot be generalised (ValueError: drop or hash them);
    * "accept": the value unchanged (the caller records the publisher's reason).
    """
    if decision == "accept":
        return value
    if decision == "drop":
        return None
    if value is None:
        return None
    if decision == "hash":
        if salt is None:
            raise ValueError("hashing needs a salt")
        return hash_value(str(value), salt=salt)
    if decision != "generalize":
        raise ValueError(f"unknown decision {decision!r}; expected one of {', '.join(DECISIONS)}")
    if kind == "street_address":
        return hundred_block(str(value))
    if kind == "exact_location":
        if isinstance(value, tuple | list) and len(value) >= 2:
            return coarsen_point(value[0], value[1], digits=digits)
        return round(float(value), digits)
    if kind == "small_count":
        return None if 1 <= value <= 4 else value
    raise ValueError(f"a {kind} value cannot be generalised; drop or hash the column instead")
