"""Run the shared load generator (../shared/bench/load.py) with one comparison corrected.

load.py compares floating timestamps by stripping trailing zeros from both sides, which
turns '…T22:18:10.000' into '…T22:18:10' but '…T22:18:10' into '…T22:18:1', so every
timestamp whose seconds end in 0 reads as a difference. SODA always prints milliseconds, so
here both sides drop a '.000'-style fraction only, then compare. Everything else is load.py's.

    python bench/load_verified.py URL --column soda_path ... (the same arguments as load.py)
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
from pathlib import Path

SHARED_LOAD = Path(os.environ.get("SHARED", Path(__file__).parents[2] / "shared")) / "bench/load.py"
_ZERO_FRACTION = re.compile(r"(T\d{2}:\d{2}:\d{2})\.0+$")


def main() -> int:
    spec = importlib.util.spec_from_file_location("load", SHARED_LOAD)
    if spec is None or spec.loader is None:
        sys.exit(f"cannot load {SHARED_LOAD}")
    load = importlib.util.module_from_spec(spec)
    sys.modules["load"] = load  # its dataclasses look their module up while being defined
    spec.loader.exec_module(load)
    compare = load._same

    def same(a: object, b: object) -> bool:
        if isinstance(a, str) and isinstance(b, str):
            a, b = _ZERO_FRACTION.sub(r"\1", a), _ZERO_FRACTION.sub(r"\1", b)
        return compare(a, b)

    load._same = same
    return load.main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
