"""JSON whose numbers are exact decimals, for APIs that want money as a JSON number (Notion).

Our own JSON writes amounts as decimal strings. A third-party API whose schema says "number"
needs a bare number, and ``json.dumps`` cannot write a ``Decimal`` without going through float.
:func:`dumps` writes it digit for digit; :func:`loads` reads numbers with a fraction back as
``Decimal``, so neither side of a round trip ever holds a float.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any


def dumps(value: Any) -> str:
    """Like ``json.dumps(value, ensure_ascii=False)``, with ``Decimal`` written exactly."""
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value} cannot be written as a JSON number")
        return format(value, "f")
    if isinstance(value, dict):
        items = (f"{json.dumps(str(key), ensure_ascii=False)}:{dumps(item)}" for key, item in value.items())
        return "{" + ",".join(items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(dumps(item) for item in value) + "]"
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


def loads(text: str | bytes) -> Any:
    """``json.loads`` with every number that has a fraction or exponent read as ``Decimal``."""
    return json.loads(text, parse_float=Decimal)
