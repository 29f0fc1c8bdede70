"""What a publisher decided about a flagged column, and what is still unresolved.

    choice = parse_choice("accept:Salaries of city employees are public record")
    covers(decision, "person_name")   # does the decision resolve this kind in its column?

A decision is made per column. `drop` and `hash` resolve anything the column may hold, as no
raw value of it is published. `generalize` and `accept` resolve only the kinds of personal data
they were made for (`Decision.kinds`): a street-address column accepted as business addresses
is flagged again the day it starts holding email addresses. Pure functions and records only;
privacy.store keeps them, privacy.guard applies them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from civicport.errors import Conflict, InvalidUpload
from civicport.privacy.findings import Finding
from civicport.privacy.transforms import DECISIONS

# Kinds transforms.apply_decision can generalise (and what it makes of them).
GENERALIZABLE = {
    "street_address": "its hundred block (100 BLOCK OF MAIN ST)",
    "exact_location": "a grid of about 100 m",
    "small_count": "suppressed counts below 5",
}
# A decision not yet applied to the stored rows (it was made after they were loaded).
PENDING = "pending"


@dataclass(frozen=True)
class Choice:
    """One decision as a person gives it: an action and, for accept, the written reason."""

    action: str
    reason: str = ""


@dataclass(frozen=True)
class Given:
    """Decisions given with a load: column name (field or display name) → choice, and who
    made them (an account's email, or "cli")."""

    choices: Mapping[str, Choice]
    actor: str


@dataclass(frozen=True)
class Decision:
    """A decision as kept for a dataset's column (privacy_decisions)."""

    field_name: str
    action: str
    reason: str
    decided_by: str
    decided_at: dt.datetime
    kinds: tuple[str, ...]  # the finding kinds it was made for
    applied: bool  # whether the stored rows went through it


@dataclass(frozen=True)
class Unresolved:
    """A finding no decision covers, or a decision the stored rows do not reflect yet
    (`kind` is then PENDING). `message` says what it is and how to resolve it."""

    column: str
    kind: str
    message: str


class PrivacyUnresolved(Conflict):
    """Data would be public while personal data in it is unresolved. `data["unresolved"]`
    lists each column and kind, with the actions that resolve it."""

    code = "privacy.unresolved"


def parse_choice(text: str) -> Choice:
    """'hash' → Choice('hash'); 'accept:REASON' → Choice('accept', 'REASON'). InvalidUpload
    for an unknown action or an accept without a reason."""
    action, _, reason = text.partition(":")
    action = action.strip().lower()
    if action not in DECISIONS:
        raise InvalidUpload(
            f"'{text}' is not a privacy decision: use drop, hash, generalize or accept:REASON"
        )
    if reason.strip() and action != "accept":
        raise InvalidUpload(f"Only accept takes a reason ('{text}'): use accept:REASON")
    choice = Choice(action, reason.strip())
    check_reason(choice)
    return choice


def parse_assignment(text: str) -> tuple[str, Choice]:
    """'name=hash' → ('name', Choice('hash')); the column is everything before the first '='."""
    column, sep, choice = text.partition("=")
    if not sep or not column.strip():
        raise InvalidUpload(
            f"'{text}' is not COLUMN=ACTION, for example name=hash or salary=accept:REASON"
        )
    return column.strip(), parse_choice(choice)


def check_reason(choice: Choice) -> None:
    if choice.action == "accept" and not choice.reason.strip():
        raise InvalidUpload(
            "Accepting personal data needs a written reason: why it may be published "
            "(e.g. 'Salaries of city employees are public record')"
        )


def check_choice(column: str, choice: Choice, kinds: Iterable[str]) -> None:
    """InvalidUpload unless `choice` can be applied to a column holding `kinds`: a known action,
    a reason for accept, and for generalize only kinds that can be generalised."""
    if choice.action not in DECISIONS:
        raise InvalidUpload(
            f"Unknown privacy decision '{choice.action}' for column '{column}': use one of "
            + ", ".join(DECISIONS)
        )
    check_reason(choice)
    if choice.action != "generalize":
        return
    found = set(kinds)
    if not found:
        raise InvalidUpload(
            f"Column '{column}' has nothing to generalise (no street addresses, exact locations "
            "or small counts were found in it): drop or hash it, or accept it with a reason"
        )
    other = sorted(found - GENERALIZABLE.keys())
    if other:
        raise InvalidUpload(
            f"Column '{column}' holds {', '.join(other)}, which cannot be generalised: "
            "drop or hash it instead"
        )


def covers(decision: Decision, kind: str) -> bool:
    """Whether `decision` resolves personal data of `kind` in its column."""
    if decision.action in ("drop", "hash"):
        return True
    return kind in decision.kinds


def is_pending(decision: Decision) -> bool:
    return not decision.applied and decision.action != "accept"


def decision_after(
    previous: Decision | None,
    column: str,
    choice: Choice,
    *,
    kinds: Iterable[str],
    actor: str,
    now: dt.datetime,
    whole: bool,
) -> Decision:
    """The decision kept once `choice` is made for `column`, checked. `whole` says the rows are
    (re)loaded through it now; otherwise a value-changing decision stays pending unless the
    column already had the same one applied."""
    found = tuple(sorted(set(kinds)))
    check_choice(column, choice, found)
    unchanged = previous is not None and previous.action == choice.action and previous.applied
    applied = whole or choice.action == "accept" or unchanged
    return Decision(column, choice.action, choice.reason.strip(), actor, now, found, applied)


def unresolved_items(
    findings: Sequence[Finding], decisions: Mapping[str, Decision]
) -> list[Unresolved]:
    """What stands between these findings and decisions and publication, in column order."""
    items = []
    for finding in findings:
        decision = decisions.get(finding.column)
        if decision is None or not covers(decision, finding.kind):
            items.append(Unresolved(finding.column, finding.kind, _resolve_finding(finding)))
    for decision in decisions.values():
        if is_pending(decision):
            items.append(Unresolved(decision.field_name, PENDING, _resolve_pending(decision)))
    return items


def actions_for(kind: str) -> tuple[str, ...]:
    """The actions that resolve a finding of `kind`."""
    if kind in GENERALIZABLE:
        return ("drop", "hash", "generalize", "accept")
    return ("drop", "hash", "accept")


def _resolve_finding(finding: Finding) -> str:
    actions = actions_for(finding.kind)
    how = ", ".join(actions[:-1]) + f" or {actions[-1]} it with a written reason"
    return f"{finding.message} [{finding.column}: {finding.kind}]: {how}"


def _resolve_pending(decision: Decision) -> str:
    return (
        f"Column '{decision.field_name}' was decided '{decision.action}' after its rows were "
        "loaded: apply it to the stored rows (the privacy review on the dataset's manage page, "
        "or `civicport privacy apply`), or load the data again in replace mode"
    )


def refusal(headline: str, items: Sequence[Unresolved]) -> PrivacyUnresolved:
    """The error for `items`: `headline` ("Dataset 'abcd-1234' cannot be made public while
    personal data in it is unresolved"), then every column and kind and how to resolve it."""
    lines = "\n".join(f"- {item.message}" for item in items)
    message = (
        f"{headline}:\n{lines}\n"
        "Resolve each column: drop it, hash it, generalize it (street addresses to their "
        "hundred block, exact locations to a coarser grid, small counts suppressed) or accept "
        "it with a written reason."
    )
    data = {
        "unresolved": [
            {
                "column": item.column,
                "kind": item.kind,
                "actions": list(actions_for(item.kind)) if item.kind != PENDING else [],
                "message": item.message,
            }
            for item in items
        ]
    }
    return PrivacyUnresolved(message, data=data)
