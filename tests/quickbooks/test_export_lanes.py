"""Bulk export in two lanes: 30 documents a batch request while batches last, one a request beside
them, and a reserve of each minute's requests left for reads (quickbooks/limits.py)."""

import uuid

import pytest
from django.db import transaction

from accounts.roles import Role
from procurement import workflow
from procurement.inputs import SupplierData
from procurement.services import document_create, document_transition, supplier_create
from quickbooks import limits
from quickbooks.errors import QboThrottled
from quickbooks.export import delivery, outbox
from quickbooks.limits import Lane, RealmLimiter
from quickbooks.models import DocumentSync, OutboxItem, SyncAttempt, SyncStatus
from tests.conftest import invoice_data, make_user
from tests.quickbooks.conftest import _EMULATOR, connect, settle, sync_of

A = workflow.DocumentAction


@pytest.fixture
def one_batch_a_minute(settings):
    settings.QBO_BATCHES_PER_MINUTE = 1
    limits._limiters.clear()


@pytest.mark.in_process_worker  # the batch budget is this process's setting
def test_given_the_minutes_batches_are_used_when_a_backlog_waits_then_the_single_lane_sends_it_at_once(
    one_batch_a_minute, qbo, creator, approver, supplier
):
    invoices = [
        document_create(actor=creator, kind="invoice", data=invoice_data(supplier, code=f"L-{i}")) for i in range(34)
    ]
    for invoice in invoices:
        document_transition(actor=creator, document=invoice, action=A.SUBMIT)
    qbo.emulator.control("DELETE", "/requests")
    with transaction.atomic():  # one burst of approvals: the first delivery finds all 34 waiting
        for invoice in invoices:
            document_transition(actor=approver, document=invoice, action=A.APPROVE)

    # The next batch request is a minute away; without a second lane the rest would wait for it.
    settle(timeout=40)

    assert {sync_of(i).status for i in invoices} == {SyncStatus.SENT}
    log = qbo.emulator.control("GET", "/requests", params={"realm": qbo.realm_id, "limit": 1000})["requests"]
    paths = [entry.get("path", "") for entry in log]
    assert sum(1 for p in paths if p.endswith("/batch")) == 1, paths
    attempts = SyncAttempt.objects.filter(document__in=invoices, outcome="ok")
    batched = attempts.filter(operation__contains="(batch of").count()
    single = attempts.filter(operation="create Bill").count()
    assert batched >= 2 and single >= 4 and batched + single == 34
    assert qbo.query("SELECT COUNT(*) FROM Bill WHERE DocNumber LIKE 'L-%'")["totalCount"] == 34


def pending_invoices(user, supplier, prefix: str, count: int):
    invoices = [
        document_create(actor=user, kind="invoice", data=invoice_data(supplier, code=f"{prefix}-{i}"))
        for i in range(count)
    ]
    for invoice in invoices:
        document_transition(actor=user, document=invoice, action=A.SUBMIT)
    return invoices


def approve_while_paused(worker, approver, invoices) -> None:
    """No turn is held yet: each approval sends its message, which the paused worker leaves queued."""
    worker.pause()
    for invoice in invoices:
        document_transition(actor=approver, document=invoice, action=A.APPROVE)


@pytest.fixture
def one_turn_each(settings):
    settings.QBO_BULK_TURNS_PER_COMPANY = 1


@pytest.mark.in_process_worker  # pauses the worker, and the turns are this process's setting
def test_given_one_company_approved_150_before_another_approved_30_then_the_other_does_not_wait_for_all_150(
    one_turn_each, qbo, worker, creator, approver, supplier, other_company
):
    globex = make_user(other_company, "globex", *Role)
    _EMULATOR[:] = [qbo.emulator]
    connect(globex)  # its own QuickBooks company
    globex_supplier = supplier_create(actor=globex, data=SupplierData(name="Globex Paper", currency="USD"))
    ours = pending_invoices(creator, supplier, "ACME", 150)
    theirs = pending_invoices(globex, globex_supplier, "GLOBEX", 30)
    worker.pause()  # every message queued before any is taken: Acme's 150, then Globex's 30
    for invoice in ours:
        document_transition(actor=approver, document=invoice, action=A.APPROVE)
    for invoice in theirs:
        document_transition(actor=globex, document=invoice, action=A.APPROVE)
    worker.resume()

    settle()

    sent = {s.document_id: s.sent_at for s in DocumentSync.objects.filter(status=SyncStatus.SENT)}
    assert len(sent) == 180
    globex_done = max(sent[i.pk] for i in theirs)
    acme_sent_before = sum(1 for i in ours if sent[i.pk] < globex_done)
    # Taking turns, Globex's one batch goes beside Acme's first; first come, first served, it
    # would have waited behind most of Acme's five.
    assert acme_sent_before < 75, acme_sent_before


def small_budget(settings) -> RealmLimiter:
    settings.QBO_REQUESTS_PER_MINUTE = 10
    settings.QBO_BATCHES_PER_MINUTE = 2
    settings.QBO_READ_RESERVE_PER_MINUTE = 3
    return RealmLimiter(f"lanes-{uuid.uuid4().hex}", max_wait=0.2)


def test_given_a_minutes_budget_then_bulk_work_gets_the_batches_first_and_then_what_the_reserve_leaves(settings):
    realm = small_budget(settings)

    lanes = [realm.bulk_lane().lane for _ in range(2 + 10 - 2 - 3)]

    assert lanes == [Lane.BATCH, Lane.BATCH] + [Lane.SINGLE] * 5
    with pytest.raises(QboThrottled, match="batch and request budgets"):
        realm.bulk_lane()


def test_given_an_export_used_both_lanes_when_a_payment_webhook_reads_then_the_reserve_is_still_there(settings):
    realm = small_budget(settings)
    for _ in range(7):  # the export sends everything its lanes allow
        lane = realm.bulk_lane()
        lane.before_request("batch" if lane.lane is Lane.BATCH else "bill")

    for _ in range(3):
        realm.before_request("query")  # admitted at once: the reserve

    with pytest.raises(QboThrottled, match="request budget"):
        realm.before_request("query")


def test_given_the_single_lane_when_its_delivery_needs_a_second_request_then_that_one_counts_in_the_lane_too(
    settings,
):
    realm = small_budget(settings)
    for _ in range(2):
        realm.bulk_lane()  # the minute's batches
    singles = [realm.bulk_lane() for _ in range(4)]  # one single-lane request left after these
    for lane in singles:
        lane.before_request("bill")

    singles[0].before_request("vendor")  # a vendor to create first: the lane's last request

    with pytest.raises(QboThrottled, match="single-lane"):
        singles[1].before_request("vendor")


@pytest.mark.in_process_worker  # pauses the worker
def test_given_a_companys_bulk_turn_is_running_then_the_sweeper_leaves_its_waiting_rows_to_that_turn(
    qbo, worker, creator, approver, supplier
):
    (invoice,) = pending_invoices(creator, supplier, "SWEEP", 1)
    worker.pause()
    document_transition(actor=approver, document=invoice, action=A.APPROVE)
    OutboxItem.objects.filter(document=invoice).update(dispatched_at=None)  # as if its message were lost
    turn = limits.limiter_for(qbo.realm_id).bulk_turn()
    assert turn is not None

    assert delivery.sweep() == 0  # the turn sends the next message when it ends

    turn.give_back()  # it ended (or its worker died and the turn ran out)
    assert delivery.sweep() == 1
    worker.resume()
    settle()
    assert sync_of(invoice).status == SyncStatus.SENT


@pytest.mark.in_process_worker  # pauses the worker
def test_given_a_next_turn_whose_row_was_sent_meanwhile_when_it_arrives_then_it_sends_the_companys_waiting_rows(
    qbo, worker, creator, approver, supplier
):
    invoices = pending_invoices(creator, supplier, "NEXT", 3)
    approve_while_paused(worker, approver, invoices)
    first = OutboxItem.objects.get(document=invoices[0])
    OutboxItem.objects.filter(pk=first.pk).update(state="done")  # another delivery sent it
    realm = limits.limiter_for(qbo.realm_id)
    realm.next_turn_queued()  # the turn that ended queued this message, holding approvals' messages back

    delivery.deliver(str(first.pk), next_turn=True)

    assert [sync_of(i).status for i in invoices[1:]] == [SyncStatus.SENT, SyncStatus.SENT]
    turn = realm.bulk_turn(first=True)  # approvals' own messages may start bulk work again
    assert turn is not None
    turn.give_back()
    worker.resume()
    settle()  # the approvals' own messages, taken by the paused worker, find their rows sent


@pytest.mark.in_process_worker  # pauses the worker
def test_given_a_companys_next_turn_is_on_its_way_then_the_sweeper_does_not_send_its_rows_again(
    qbo, worker, creator, approver, supplier
):
    (invoice,) = pending_invoices(creator, supplier, "QUEUED", 1)
    worker.pause()
    document_transition(actor=approver, document=invoice, action=A.APPROVE)
    OutboxItem.objects.filter(document=invoice).update(dispatched_at=None)
    realm = limits.limiter_for(qbo.realm_id)
    realm.next_turn_queued()  # the message would only be dropped: no approval may overtake that turn

    assert delivery.sweep() == 0

    realm.next_turn_arrived()
    assert delivery.sweep() == 1
    worker.resume()
    settle()
    assert sync_of(invoice).status == SyncStatus.SENT


@pytest.mark.in_process_worker  # pauses the worker
def test_given_a_companys_bulk_work_is_running_when_an_invoice_is_approved_then_the_turn_that_ends_sends_it(
    qbo, worker, creator, approver, supplier, monkeypatch
):
    (invoice,) = pending_invoices(creator, supplier, "RUNNING", 1)
    realm = limits.limiter_for(qbo.realm_id)
    turn = realm.bulk_turn()
    assert turn is not None
    worker.pause()
    sent = []
    monkeypatch.setattr(delivery, "dispatch", lambda ids, **options: sent.extend(ids))

    document_transition(actor=approver, document=invoice, action=A.APPROVE)

    # Its own message would only find the company's turn taken and stop: none is sent.
    assert sent == []
    assert OutboxItem.objects.get(document=invoice).dispatched_at is None
    monkeypatch.undo()
    turn.give_back()  # the turn ends: it sends the message for the company's oldest waiting row
    delivery._next_turn(invoice.company_id, realm)
    worker.resume()
    settle()
    assert sync_of(invoice).status == SyncStatus.SENT


@pytest.mark.in_process_worker  # pauses the worker
def test_given_approvals_queued_before_bulk_work_started_then_their_messages_stop_without_a_query(
    qbo, worker, creator, approver, supplier, django_assert_num_queries
):
    invoices = pending_invoices(creator, supplier, "BURST", 3)
    approve_while_paused(worker, approver, invoices)
    realm = limits.limiter_for(qbo.realm_id)
    turn = realm.bulk_turn(first=True)  # the first message started the company's bulk work
    assert turn is not None

    second = str(OutboxItem.objects.get(document=invoices[1]).pk)
    with django_assert_num_queries(0):
        delivery.deliver(second, realm_id=qbo.realm_id)

    turn.give_back()
    delivery._next_turn(invoices[0].company_id, realm)
    worker.resume()
    settle()
    assert {sync_of(i).status for i in invoices} == {SyncStatus.SENT}


@pytest.mark.in_process_worker  # pauses the worker
def test_given_a_turn_ends_with_rows_waiting_when_an_approvals_message_arrives_meanwhile_then_it_takes_no_turn(
    qbo, worker, creator, approver, supplier, monkeypatch
):
    invoices = pending_invoices(creator, supplier, "ENDING", 3)
    approve_while_paused(worker, approver, invoices)
    first, second = (str(OutboxItem.objects.get(document=i).pk) for i in invoices[:2])
    turns = []
    monkeypatch.setattr(delivery, "_take_turn", lambda *args: turns.append(args))  # sends nothing: rows wait
    looking = outbox.oldest_waiting

    def second_message_arrives(company_id):
        # The ending turn looks for the company's next waiting row; another worker takes the second
        # approval's message at that moment.
        if len(turns) == 1:
            turns.append("arrived")
            delivery.deliver(second, realm_id=qbo.realm_id)
        return looking(company_id)

    monkeypatch.setattr(outbox, "oldest_waiting", second_message_arrives)

    delivery.deliver(first, realm_id=qbo.realm_id)

    # Taking a turn then would put this company's next batch ahead of the companies whose messages
    # wait in the queue (CI on RabbitMQ: 90 of one company's 150 sent before another's 30).
    assert len(turns) == 2 and turns[1] == "arrived", turns
    monkeypatch.undo()
    worker.resume()
    settle()  # the next turn's message, sent as the turn ended, sends them all
    assert {sync_of(i).status for i in invoices} == {SyncStatus.SENT}
