"""Compare JSON documents by structure (keys, recursively, and JSON types), not by value."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

# Intuit's published payloads, copied word for word from the team's reference (shared/reference/
# qbo-samples, with SOURCES.md naming each one's origin) so the tests need nothing outside the repo.
SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "qbo"


def sample(name: str) -> Any:
    return json.loads((SAMPLES / name).read_text())


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"  # JSON has one number type: 0 and 0.0 are the same
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def structure_diff(published: Any, ours: Any, path: str = "$", allow_extra: frozenset[str] = frozenset()
                   ) -> list[str]:
    """Differences between two documents' structures; `allow_extra` lists paths (e.g.
    "$.VendorCredit.Balance") that may exist only in ours."""
    if json_type(published) != json_type(ours):
        return [f"{path}: {json_type(published)} != {json_type(ours)}"]
    problems: list[str] = []
    if isinstance(published, dict):
        for key in published:
            if key not in ours:
                problems.append(f"{path}.{key}: missing")
            else:
                problems += structure_diff(published[key], ours[key], f"{path}.{key}", allow_extra)
        problems += [f"{path}.{key}: extra" for key in ours
                     if key not in published and f"{path}.{key}" not in allow_extra]
    elif isinstance(published, list):
        if bool(published) != bool(ours):
            problems.append(f"{path}: {len(published)} items != {len(ours)} items")
        for index, (a, b) in enumerate(zip(published, ours, strict=False)):
            problems += structure_diff(a, b, f"{path}[{index}]", allow_extra)
    return problems
