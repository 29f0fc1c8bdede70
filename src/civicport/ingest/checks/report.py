"""What the load checks found, and the error that refuses a load."""

from __future__ import annotations

from dataclasses import dataclass

from civicport.errors import InvalidUpload


@dataclass(frozen=True)
class CheckReport:
    """Findings of the checks set to warn and to block (plain sentences, no final period).
    Any blocking finding refuses the load. `dropped_rows` counts the rows with a repeated
    row identifier that were taken out of the staged table (duplicate_ids set to warn)."""

    warnings: tuple[str, ...] = ()
    blocking: tuple[str, ...] = ()
    dropped_rows: int = 0


class LoadRejected(InvalidUpload):
    """A load that checks set to block refused; nothing it would have changed was changed."""

    code = "upload.checks-failed"

    def __init__(self, report: CheckReport) -> None:
        findings = " ".join(f"{finding}." for finding in report.blocking)
        super().__init__(
            f"The data was not loaded: it failed the dataset's load checks. {findings} "
            "Correct the data, or change the dataset's load rules if this is expected.",
            data={"blocking": list(report.blocking), "warnings": list(report.warnings)},
        )
        self.report = report


def raise_if_blocked(report: CheckReport) -> None:
    """Raise LoadRejected if any check set to block found something."""
    if report.blocking:
        raise LoadRejected(report)
