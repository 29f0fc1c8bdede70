"""What search engines and link previews read: schema.org Dataset JSON-LD for a dataset page.

The JSON is embedded in a <script> element, so `<` is escaped: a description containing
`</script>` cannot end the element early.
"""

from __future__ import annotations

import json
from typing import Any

from civicport.catalog.records import DatasetRecord
from civicport.web.markdown import plain_summary


def dataset_json_ld(record: DatasetRecord, base: str) -> str:
    """The schema.org Dataset description of a public dataset page."""
    url = f"{base}/d/{record.id}"
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "Dataset",
        "@id": url,
        "url": url,
        "identifier": record.id,
        "name": record.title,
        "description": plain_summary(record.description, limit=5000) or record.title,
        "keywords": list(record.tags),
        "dateCreated": record.created_at.isoformat(),
        "dateModified": max(record.data_updated_at, record.metadata_updated_at).isoformat(),
        "isAccessibleForFree": True,
        "distribution": [
            _download("text/csv", f"{base}/api/views/{record.id}/rows.csv?accessType=DOWNLOAD"),
            _download("application/json", f"{base}/resource/{record.id}.json"),
        ],
    }
    publisher = record.department or record.publisher
    if publisher:
        data["creator"] = {"@type": "Organization", "name": publisher}
    if record.license_url or record.license_name:
        data["license"] = record.license_url or record.license_name
    if record.temporal:
        data["temporalCoverage"] = record.temporal
    if record.spatial:
        data["spatialCoverage"] = record.spatial
    return json.dumps(data, ensure_ascii=False).replace("<", "\\u003c")


def _download(media_type: str, url: str) -> dict[str, str]:
    return {"@type": "DataDownload", "encodingFormat": media_type, "contentUrl": url}
