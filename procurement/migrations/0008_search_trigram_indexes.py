"""Trigram indexes for the documents lists' search, on PostgreSQL only (issue 13).

The search is ``icontains``, which Django writes on PostgreSQL as ``UPPER("col"::text) LIKE
UPPER(%s)``: a pg_trgm GIN index on that very expression lets PostgreSQL find ``'%term%'`` from
the index instead of reading every document of the company (``procurement.selectors.document_list``
looks the supplier's name up on the supplier table, whose own index this also makes).

Not in the models' state: SQLite has neither GIN nor pg_trgm, and its LIKE cannot use an index for
a ``'%term%'`` pattern anyway, so there nothing is done. Creating the extension needs a superuser
or (pg_trgm being a trusted extension) the CREATE privilege on the database; where it cannot be
created the migration logs a warning and goes on, and the search works as before, only slower
(``CREATE EXTENSION pg_trgm`` as a superuser, then ``migrate procurement 0007`` and ``migrate``,
makes the indexes later). Terms shorter than three characters have no trigram: PostgreSQL reads
the list for them as before, whatever the indexes.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import DatabaseError, migrations, transaction

logger = logging.getLogger(__name__)

# (index name, table, the expression exactly as Django's icontains writes it)
INDEXES = [
    ("document_number_trgm", "procurement_document", 'UPPER("number"::text)'),
    ("document_supplier_code_trgm", "procurement_document", 'UPPER("supplier_unique_code"::text)'),
    ("document_notes_trgm", "procurement_document", 'UPPER("notes"::text)'),
    ("supplier_name_trgm", "procurement_supplier", 'UPPER("name"::text)'),
]


def _has_trigrams(schema_editor: Any) -> bool:
    """Whether pg_trgm is (or could now be made) installed in this database."""
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
        if cursor.fetchone():
            return True
    try:
        # A savepoint: a refusal rolls back to it and leaves the migration's transaction going.
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except DatabaseError as error:
        logger.warning("pg_trgm could not be created (%s): the documents search stays without indexes.", error)
        return False
    return True


def create_indexes(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql" or not _has_trigrams(schema_editor):
        return
    for name, table, expression in INDEXES:
        schema_editor.execute(f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" USING gin ({expression} gin_trgm_ops)')


def drop_indexes(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _table, _expression in INDEXES:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')  # the extension stays: others may use it


class Migration(migrations.Migration):
    dependencies = [
        ("procurement", "0007_document_list_indexes"),
    ]

    operations = [
        migrations.RunPython(create_indexes, drop_indexes, elidable=False),
    ]
