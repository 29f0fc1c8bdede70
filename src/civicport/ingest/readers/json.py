"""JSON: an array of row objects, exactly as SODA's /resource/{id}.json returns them.

Values are usually all strings; points are GeoJSON objects, locations {latitude, longitude,
human_address} objects, URLs {"url": …} objects (values.py reads each). Keys missing from a
row are empty cells. The columns are the union of the keys in the order first seen.

A GeoJSON FeatureCollection saved with a .json extension is read as GeoJSON (readers/gis.py),
a Socrata rows.json export as one (readers/socrata.py).
"""

from __future__ import annotations

from pathlib import Path

import orjson

from civicport.errors import InvalidUpload
from civicport.ingest.readers import Source, gis, register, socrata
from civicport.ingest.records import ReadOptions
from civicport.ingest.socrata import is_rows_json


@register("json", ".json")
def read_json(path: Path, options: ReadOptions) -> Source:
    """Open a JSON array of objects. The whole document is parsed in memory (a rows.json
    export, which can be large, is streamed instead)."""
    if is_rows_json(path):
        return socrata.open_rows_json(path)
    try:
        document = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as exc:
        raise InvalidUpload(f"{path.name} is not valid JSON ({exc}).") from None
    if isinstance(document, dict) and document.get("type") in gis.GEOJSON_TYPES:
        del document  # GDAL reads the file again, feature by feature
        return gis.open_layer(path, None, label=path.name, fmt=gis.GEOJSON)
    if not isinstance(document, list):
        raise InvalidUpload(
            f"{path.name} must be a JSON array of row objects, not a {type(document).__name__}."
        )
    keys: dict[str, None] = {}
    for position, record in enumerate(document, start=1):
        if not isinstance(record, dict):
            raise InvalidUpload(
                f"{path.name}: row {position:,} is a {type(record).__name__}, not an object; "
                "the file must be an array of row objects."
            )
        keys.update(dict.fromkeys(record))
    if not keys:
        raise InvalidUpload(f"{path.name} has no rows and no columns (an empty array).")
    headers = list(keys)
    rows = ([record.get(k) for k in headers] for record in document)
    return Source(headers=headers, rows=rows)
