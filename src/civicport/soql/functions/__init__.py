"""The SoQL functions and operators, by family; `FUNCTIONS` maps each name to its signatures and
its SQL on SQLite and PostgreSQL.

Operators are here too, under `#` names (`#=`, `#and`…). A signature lists parameter types,
where `T` is one type variable shared by the call (constrained by `of`) and `*` accepts any
type; the last `repeat` parameters may repeat. Results must be identical on both dialects:
text compares by code point, `/` never truncates, division by zero gives null, NULLs sort
where SoQL says. Each family module registers its functions when imported, below.
"""

from civicport.soql.functions import (  # noqa: F401  (imported to register their functions)
    aggregates,
    arithmetic,
    conditionals,
    dates,
    fields,
    geo,
    logic,
    numbers,
    text,
)
from civicport.soql.functions.registry import (
    FUNCTIONS,
    Function,
    Signature,
    display_name,
    register,
    sig,
)

__all__ = ["FUNCTIONS", "Function", "Signature", "display_name", "register", "sig"]
