"""Reading QuickBooks in bulk, never per document: a reconciliation of thousands of documents has
to stay within QuickBooks' rate limits, so it asks for many rows a query.

Each query takes at most 1,000 values, is sent as a POST (a thousand ids do not fit in a URL) and
is paged.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from quickbooks.client import MAX_RESULTS, QboClient, quote

ID_CHUNK = 1000  # ids per "Id IN (...)" query: QBO's page size
NUMBER_CHUNK = 990  # numbers per "DocNumber IN (...)" query: a page, less room for extra copies


def _query(client: QboClient, entity: str, where: str, *, at_most: int | None = None) -> Iterator[dict[str, Any]]:
    """Every row of ``entity`` matching ``where``, page by page, sent as POST (application/text)
    so that a thousand values never meet a URL length limit. ``at_most``: no more rows can match
    (one per Id asked for), so a full page needs no empty page after it."""
    start, seen = 1, 0
    while True:
        sql = f"SELECT * FROM {entity} WHERE {where} ORDERBY Id STARTPOSITION {start} MAXRESULTS {MAX_RESULTS}"
        answer = client.request("POST", "query", body=sql, content_type="application/text")
        page = (answer.get("QueryResponse") or {}).get(entity, [])
        yield from page
        seen += len(page)
        if len(page) < MAX_RESULTS or (at_most is not None and seen >= at_most):
            return
        start += MAX_RESULTS


def read_in(client: QboClient, entity: str, field_name: str, values: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Rows of ``entity`` whose ``field_name`` is one of ``values``, by Id.

    Ids are asked 1,000 a query (one row each at most). Numbers are asked 990 a query: one row
    each in the usual case, so a page is not full and needs no second one, with room for a few
    extra copies before it does.
    """
    by_id = field_name == "Id"
    chunk = ID_CHUNK if by_id else NUMBER_CHUNK
    wanted = sorted({v for v in values if v})
    rows: dict[str, dict[str, Any]] = {}
    for start in range(0, len(wanted), chunk):
        part = wanted[start : start + chunk]
        listed = ", ".join(quote(v) for v in part)
        for row in _query(client, entity, f"{field_name} IN ({listed})", at_most=len(part) if by_id else None):
            rows[str(row.get("Id"))] = row
    return rows
