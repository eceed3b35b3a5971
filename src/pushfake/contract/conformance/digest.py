"""A digest of a generated request, for steering choices that must repeat from run to run."""

from __future__ import annotations

import json
import zlib
from typing import Any


def case_digest(case: Any) -> int:
    """The same number for the same request in every run: no object addresses (an unset body is
    a sentinel whose repr holds one), only the operation, media type, query and body."""
    body = case.body if isinstance(case.body, (dict, list, str, bytes, int, float, type(None))) else "<unset>"
    text = json.dumps([case.operation.label, case.media_type, case.query, body], default=repr, ensure_ascii=True)
    return zlib.crc32(text.encode())
