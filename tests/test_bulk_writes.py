"""procuresync/bulk.py: rows written without the ORM's per-row work must read back as the ORM wrote them."""

import datetime as dt

from procurement.services import document_create
from procuresync.bulk import update_rows
from quickbooks.models import DocumentSync, SyncStatus
from tests.conftest import invoice_data


def test_given_two_sync_rows_when_updated_together_then_each_reads_back_its_own_values(creator, supplier):
    documents = [
        document_create(actor=creator, kind="invoice", data=invoice_data(supplier, code=f"BULK-{i}")) for i in range(2)
    ]
    syncs = [DocumentSync.objects.create(document=d, company_id=d.company_id) for d in documents]
    sent = dt.datetime(2026, 11, 30, 9, 15, tzinfo=dt.UTC)
    for position, sync in enumerate(syncs):
        sync.qbo_id = str(100 + position)
        sync.status = SyncStatus.SENT
        sync.sent_at = sent
        sync.create_attempt = {"request_id": f"r-{position}", "lines": [position, "x"]}
        sync.line_ids = {"1": str(position)}

    update_rows(syncs, ("qbo_id", "status", "sent_at", "create_attempt", "line_ids"))

    again = {s.document_id: s for s in DocumentSync.objects.filter(pk__in=[s.pk for s in syncs])}
    for position, document in enumerate(documents):
        sync = again[document.pk]
        assert (sync.qbo_id, sync.status, sync.sent_at) == (str(100 + position), SyncStatus.SENT, sent)
        assert sync.create_attempt == {"request_id": f"r-{position}", "lines": [position, "x"]}
        assert sync.line_ids == {"1": str(position)}


def test_given_no_rows_then_nothing_is_written(db, django_assert_num_queries):
    with django_assert_num_queries(0):
        update_rows([], ("qbo_id",))
