"""The bundled sample datasets, as declared in data/catalog.toml."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields
from importlib import resources
from pathlib import Path
from typing import Any

from civicport.catalog.records import DatasetMetadata, SavedChart
from civicport.ingest.points import PointSource
from civicport.privacy.decisions import Choice, parse_choice

# Catalog keys that are not dataset metadata.
_IMPORT_KEYS = {"id", "file", "row_identifier", "types", "points", "privacy"}


@dataclass(frozen=True)
class DemoDataset:
    """One sample dataset: where its file is and what it becomes in the catalog."""

    id: str
    path: Path
    metadata: DatasetMetadata
    row_identifier: str | None = None
    types: dict[str, str] = field(default_factory=dict)
    points: tuple[PointSource, ...] = ()
    privacy: dict[str, Choice] = field(default_factory=dict)  # the privacy guard's decisions


def data_dir() -> Path:
    """The folder that holds the sample files (inside the installed package)."""
    return Path(str(resources.files("civicport.demo") / "data"))


def demo_datasets(catalog_path: Path | None = None) -> list[DemoDataset]:
    """The sample datasets in catalog order. Raises ValueError on an unknown catalog key, so a
    typo in catalog.toml fails the tests instead of silently dropping metadata."""
    folder = data_dir()
    path = catalog_path or folder / "catalog.toml"
    entries = tomllib.loads(path.read_text(encoding="utf-8"))["dataset"]
    return [_dataset(entry, path.parent) for entry in entries]


def _dataset(entry: dict[str, Any], folder: Path) -> DemoDataset:
    known = {f.name for f in fields(DatasetMetadata)} | _IMPORT_KEYS
    unknown = set(entry) - known
    if unknown:
        raise ValueError(f"Unknown keys in demo dataset {entry.get('id')}: {sorted(unknown)}")
    values = {k: v for k, v in entry.items() if k not in _IMPORT_KEYS}
    values["description"] = unwrap(values.get("description", ""))
    values["tags"] = tuple(values.get("tags", ()))
    values["charts"] = tuple(SavedChart(**chart) for chart in values.get("charts", ()))
    values["audience"] = "public"  # the demo shows a public portal
    return DemoDataset(
        id=entry["id"],
        path=folder / entry["file"],
        metadata=DatasetMetadata(**values),
        row_identifier=entry.get("row_identifier"),
        types=dict(entry.get("types", {})),
        points=tuple(PointSource(**point) for point in entry.get("points", ())),
        privacy={k: parse_choice(v) for k, v in entry.get("privacy", {}).items()},
    )


def unwrap(markdown: str) -> str:
    r"""Join the hard-wrapped lines of each paragraph and list item, so API clients get one line
    per paragraph, as a person typing into a portal would have left it. Blank lines, list items,
    headings and table rows still start a new line.

    >>> unwrap("One\ntwo.\n\n* a\n  b\n* c")
    'One two.\n\n* a b\n* c'
    """
    lines: list[str] = []
    for line in markdown.strip().splitlines():
        text = line.strip()
        starts_block = not text or text.startswith(("* ", "- ", "|", "#"))
        previous = lines[-1].strip() if lines else ""
        if previous and not previous.startswith("|") and not starts_block:
            lines[-1] = f"{lines[-1]} {text}"
        else:
            lines.append(line.rstrip())
    return "\n".join(lines)
