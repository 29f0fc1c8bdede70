"""The checks a load must pass before it becomes current (docs/checks.md).

A load is written to a staging table first; check_load then looks at the staged rows (and
at the version they would replace) and reports what each check found, as a warning or as a
finding that blocks the load, as the dataset's LoadRules say:

    report = check_load(conn, staged_table=stage, columns=columns, row_count=n,
                        previous=Previous(current_table, current_columns, current_rows),
                        key="permit_id", rules=LoadRules.from_json(dataset.load_rules),
                        boundary=load_boundary(settings.city_boundary),
                        now=dt.datetime.now(dt.UTC), whole=True)
    raise_if_blocked(report)      # LoadRejected: nothing is applied
    ...                           # apply the staged rows; report.warnings go with the version

Values that do not fit their column's type are found earlier, while the file is read
(ingest.type_policy, with LoadRules.type_policy).
"""

from civicport.ingest.checks.boundary import load_boundary
from civicport.ingest.checks.report import CheckReport, LoadRejected, raise_if_blocked
from civicport.ingest.checks.rules import RULE_ACTIONS, RULES, LoadRules
from civicport.ingest.checks.run import check_load
from civicport.ingest.checks.staged import Previous

__all__ = [
    "RULES",
    "RULE_ACTIONS",
    "CheckReport",
    "LoadRejected",
    "LoadRules",
    "Previous",
    "check_load",
    "load_boundary",
    "raise_if_blocked",
]
