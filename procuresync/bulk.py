"""Inserting thousands of rows without a model instance each (a payments import writes 100,000).

``bulk_create`` builds and validates an instance per row, which was over half of a large import's
time. ``insert_rows`` writes plain column values with one ``executemany`` per batch, prepared for
the database by their fields exactly as the ORM prepares them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connections, models, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

_VERBATIM = (models.IntegerField, models.ForeignKey)  # ints (and None) as given


def insert_rows(model: type[models.Model], rows: list[dict[str, object]], *, batch_size: int = 1000) -> None:
    """``bulk_create`` for thousands of rows without building a model instance per row: ``rows``
    give columns by attname (``invoice_id``); every other column takes its field's default, and
    ``auto_now``/``auto_now_add`` columns the time now, as ``save`` would. Values are prepared for
    the database by their fields, as the ORM does (decimals, dates, JSON), each distinct value once.
    One ``executemany`` per ``batch_size`` rows. Append-only models' ``save`` guards do not apply:
    these are new rows.
    """
    if not rows:
        return
    connection = connections[router.db_for_write(model)]
    now = timezone.now()
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    columns: list[list[object]] = []
    for f in fields:
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            default: object = now
        else:
            default = f.get_default()  # as a new instance has it ("" for text, None if nullable)
        values = [row.get(f.attname, default) for row in rows]
        if isinstance(f, models.CharField | models.TextField):
            values = [None if v is None else str(v) for v in values]  # TextChoices members as plain str
        elif not isinstance(f, _VERBATIM):
            values = _prepare_column(f, connection, values)
        columns.append(values)
    quote = connection.ops.quote_name
    sql = "INSERT INTO {} ({}) VALUES ({})".format(
        quote(model._meta.db_table), ", ".join(quote(str(f.column)) for f in fields), ", ".join(["%s"] * len(fields))
    )
    params = list(zip(*columns, strict=True))
    with connection.cursor() as cursor:
        for start in range(0, len(params), batch_size):
            cursor.executemany(sql, params[start : start + batch_size])


def _prepare_column(
    field: models.Field[Any, Any], connection: BaseDatabaseWrapper, values: list[object]
) -> list[object]:
    """``field.get_db_prep_save`` of each value, once per distinct value (by type and text: 1.0 and
    1.00 stay apart); values that cannot be told apart that way (JSON) are prepared one by one."""
    prepared: dict[tuple[type, str], object] = {}
    out: list[object] = []
    for value in values:
        if value is None:
            out.append(None)
        elif isinstance(value, dict | list):
            out.append(field.get_db_prep_save(value, connection))
        else:
            key = (type(value), str(value))
            if key not in prepared:
                prepared[key] = field.get_db_prep_save(value, connection)
            out.append(prepared[key])
    return out


def update_rows(objs: Sequence[models.Model], fields: Sequence[str]) -> None:
    """``bulk_update`` of ``fields`` for rows of one model, as one ``executemany`` of a plain
    ``UPDATE … WHERE pk``: ``bulk_update`` builds a CASE with an arm per row for every field, and
    compiling those was most of the cost of settling a batch of 30 sent documents. Values are
    prepared for the database by their fields, as ``save`` prepares them; nothing else is checked
    or stamped (``auto_now`` fields only change when listed)."""
    if not objs:
        return
    model = type(objs[0])
    connection = connections[router.db_for_write(model)]
    meta = model._meta
    targets = [field for field in map(meta.get_field, fields) if isinstance(field, models.Field)]
    assert len(targets) == len(fields), "only concrete fields can be updated"
    quote = connection.ops.quote_name
    sql = "UPDATE {} SET {} WHERE {} = %s".format(
        quote(meta.db_table),
        ", ".join(f"{quote(str(f.column))} = %s" for f in targets),
        quote(str(meta.pk.column)),
    )
    params = [
        [f.get_db_prep_save(getattr(obj, f.attname), connection) for f in targets]
        + [obj.pk]
        for obj in objs
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)
