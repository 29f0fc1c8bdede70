"""A Socrata view's catalog entry (title, description, category, tags, license, attribution,
custom fields) as civicport's DatasetMetadata, so a dataset brought over from Socrata keeps
what its publisher wrote about it."""

from __future__ import annotations

from typing import Any

from civicport.catalog.records import DatasetMetadata
from civicport.ingest.socrata import SocrataView


def view_metadata(view: SocrataView) -> DatasetMetadata:
    """The view's metadata; fields it leaves out keep DatasetMetadata's defaults."""
    raw = view.raw
    license_ = _mapping(raw.get("license"))
    custom = _mapping(_mapping(raw.get("metadata")).get("custom_fields"))
    tags = raw.get("tags")
    return DatasetMetadata(
        title=_text(raw.get("name")) or "",
        description=_text(raw.get("description")) or "",
        category=_text(raw.get("category")),
        tags=tuple(str(t) for t in tags) if isinstance(tags, list) else (),
        license_id=_text(raw.get("licenseId")),
        license_name=_text(license_.get("name")),
        license_url=_text(license_.get("termsLink")),
        attribution=_text(raw.get("attribution")),
        attribution_link=_text(raw.get("attributionLink")),
        custom_fields=custom,
    )


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    return str(value).strip() or None if value is not None else None
