"""The one JSON reader for every door's input (HTTP bodies, CLI files): bounded in depth.

A body nested deeper than MAX_DEPTH is refused before anything walks it (hashing, validation,
rendering), so no input can exhaust the interpreter's recursion limit. Numbers outside 64-bit
integers, NaN and Infinity are not JSON here (orjson refuses them).
"""

from __future__ import annotations

from typing import Any

import orjson

from priorauth.core._errors import ErrorCode, RequestError

# Objects and arrays inside one another. FHIR bundles with nested questionnaire items stay
# well under it; a request's facts, patient and dosing use fewer than 10.
MAX_DEPTH = 64


def json_depth_ok(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether `value` nests objects and arrays at most `limit` deep (iterative: no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return False
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return True


def load_json(text: str | bytes, field: str = "request") -> Any:
    """Parse untrusted JSON; RequestError (invalid_json: HTTP 400, CLI exit 2) naming `field` otherwise."""
    if not text or not text.strip():
        raise RequestError(field, "a JSON body is required", ErrorCode.INVALID_JSON)
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        if "depth" in str(exc).lower() or "recursion" in str(exc).lower():  # orjson stops at 1024 levels
            raise RequestError(field, f"nested deeper than {MAX_DEPTH} levels", ErrorCode.INVALID_JSON) from None
        where = f" at line {exc.lineno} column {exc.colno}" if exc.lineno else ""
        raise RequestError(field, f"not valid JSON{where}", ErrorCode.INVALID_JSON) from None
    if not json_depth_ok(value):
        raise RequestError(field, f"nested deeper than {MAX_DEPTH} levels", ErrorCode.INVALID_JSON)
    return value
