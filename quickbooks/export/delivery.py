"""Delivery of outbox rows, as one pipe: claim → build and send → settle.

``deliver`` runs in a worker for one outbox row. When its company has a backlog it first waits for
one of the two bulk lanes (``limits.RealmLimiter.bulk_lane``): the batch lane claims the row and up
to 29 more of the same company, sent through QBO's batch endpoint; the single lane claims the row
alone. Then it takes a slot of the company's concurrency limit and has each row reconciled. The
batch and single paths return a ``DeliveryResult`` per row; ``settle`` is the only code that
finishes, releases or re-dispatches a row, updates the document's sync status to match, and writes
the attempt row.

The Dramatiq actor sits here, beside the service it runs, because settling a retry sends the next
message; services elsewhere queue rows with ``queue_after_commit``.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from collections.abc import Iterable

import dramatiq
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from quickbooks.client import QboClient
from quickbooks.connection import client_for
from quickbooks.errors import QboError, QboThrottled, ReconnectNeeded
from quickbooks.export import outbox
from quickbooks.export.attempts import MAX_ATTEMPTS, DeliveryResult, Outcome, record_attempt, record_attempts
from quickbooks.export.batch import deliver_batch
from quickbooks.export.reconcile import reconcile
from quickbooks.limits import Lane, LaneLimiter, RealmLimiter, Turn, limiter_for
from quickbooks.models import Connection, ConnectionStatus, DocumentSync, OutboxItem, OutboxState, SyncStatus

log = logging.getLogger(__name__)
PAUSED = dt.timedelta(minutes=1)  # connection needs reconnect: rows look again each minute (cheap, no QBO call)
LIMITER_WAIT = dt.timedelta(seconds=5)  # our own limiter's wait ran out: try again soon
CRASH_WAIT = dt.timedelta(seconds=30)
# Shorter than the claim's lease, so a delivery is stopped before another worker may take its rows.
DELIVERY_TIME_LIMIT = outbox.CLAIM_LEASE * 4 / 5
# How long one turn of bulk work may go on sending single requests before it queues behind other
# companies: a few requests at QBO's latency; a batch is a turn of its own.
TURN_SLICE = dt.timedelta(seconds=1)


@dramatiq.actor(
    queue_name="quickbooks", max_retries=0, time_limit=int(DELIVERY_TIME_LIMIT.total_seconds() * 1000)
)
def deliver_outbox_item(item_id: str, next_turn: bool = False, realm_id: str = "") -> None:
    """Retries are the outbox's business (``settle``), not Dramatiq's. ``next_turn``: sent by a turn
    of bulk work for its company's next one (``_next_turn``). ``realm_id``: the row's QuickBooks
    company when the message was sent, so a message that bulk work makes needless stops at once."""
    deliver(item_id, next_turn=next_turn, realm_id=realm_id)


def dispatch(item_ids: Iterable[uuid.UUID], *, delay: dt.timedelta | None = None, realm_id: str = "") -> None:
    """Send one message per row. A lost message is harmless: the sweeper finds the row again."""
    ids = list(item_ids)
    outbox.mark_dispatched(ids)
    kwargs = {"realm_id": realm_id} if realm_id else {}
    delay_ms = int(delay.total_seconds() * 1000) if delay else None
    for item_id in ids:
        try:
            deliver_outbox_item.send_with_options(args=(str(item_id),), kwargs=kwargs, delay=delay_ms)
        except Exception:  # broker down: the sweeper will re-send
            log.exception("Could not send outbox message %s; the sweeper will retry", item_id)


def queue_after_commit(item: OutboxItem) -> None:
    """Send the row's message once the transaction that wrote it commits, unless its company's bulk
    work is running: that message would only find the company's turn taken and stop (most messages
    of a bulk approval did, 5,000 of them for 180 batches in bench/realms.py), while the running
    work sends the next message for the company's oldest waiting row when a turn ends."""
    item_id, company_id = item.id, item.company_id
    transaction.on_commit(lambda: _dispatch_unless_bulk_running(item_id, company_id))


def _dispatch_unless_bulk_running(item_id: uuid.UUID, company_id: int) -> None:
    # Why no row is left behind: the row is committed before this looks at the turns, and bulk
    # work that is seen here looks for waiting rows once more before it stops (``_end_turn``), so
    # it finds this row; bulk work that ended already is not seen, and the message goes now. A turn
    # whose worker died runs out, and then the sweeper sends the row (its ``dispatched_at`` stays
    # empty); a lost next-turn message runs out the same way.
    realm_id = Connection.objects.filter(company_id=company_id).values_list("realm_id", flat=True).first()
    if realm_id and limiter_for(realm_id).bulk_running():
        return
    dispatch([item_id], realm_id=realm_id or "")


def sweep() -> int:
    """Recover rows of crashed workers and re-send rows whose message was lost. Returns rows sent.
    A company whose bulk work holds a turn, or has its next turn's message on the way, is left
    out: that turn (or message) sends the next one."""
    realms = dict(Connection.objects.filter(status=ConnectionStatus.CONNECTED).values_list("company_id", "realm_id"))
    busy = [company for company, realm in realms.items() if limiter_for(realm).bulk_running()]
    rows = outbox.due_for_sweep(leave_out=busy)
    by_company: dict[int, list[uuid.UUID]] = {}
    for item_id, company_id in rows:
        by_company.setdefault(company_id, []).append(item_id)
    for company_id, ids in by_company.items():
        # With the realm, a message that finds the company's bulk work started meanwhile stops at once.
        dispatch(ids, realm_id=realms.get(company_id, ""))
    return len(rows)


# ---------------------------------------------------------------------------- the pipe


def deliver(item_id: str, *, next_turn: bool = False, realm_id: str = "") -> None:
    if realm_id and not next_turn and limiter_for(realm_id).bulk_running():
        # The company's bulk work started after this message was sent (a burst of approvals sends
        # one message each before the first of them takes a turn): it sends this row, for the
        # reason given in ``_dispatch_unless_bulk_running``. No query for the row is needed.
        return
    # A next turn's message stands for its company's waiting rows: when another delivery took its
    # row meanwhile, it takes the company's oldest waiting ones instead.
    row = outbox.row_of(item_id) if next_turn else outbox.pending_row(item_id)
    if row is None:
        return
    company_id, document_id = row
    connection = Connection.objects.select_related("default_expense_account", "default_ap_account").get(
        company_id=company_id
    )
    realm = limiter_for(connection.realm_id)
    connected = connection.status == ConnectionStatus.CONNECTED
    backlog = connected and outbox.has_backlog(company_id)
    # Bulk work takes turns between companies (quickbooks/limits.py): an approval's own message
    # starts it only while the company holds no turn; otherwise the row waits, and the turn that
    # ends next sends the message for it, behind other companies' messages.
    turn = realm.bulk_turn(first=not next_turn) if backlog else None
    if next_turn:
        realm.next_turn_arrived()  # only now: with the turn taken, bulk work never looks stopped between
    if not connected:
        _settle_unsettled(
            outbox.claim(item_id),
            DeliveryResult.paused("Waiting for QuickBooks to be reconnected.", delay=PAUSED, until_reconnected=True),
        )
        return
    if not backlog:
        claim = outbox.claim_in_lane(item_id, company_id, document_id, up_to=1) if next_turn else outbox.claim(item_id)
        _deliver(connection, claim)
        return
    if turn is None:
        return
    try:
        _take_turn(connection, realm, turn, item_id, document_id)
    finally:
        _end_turn(company_id, realm, turn)


def _take_turn(connection: Connection, realm: RealmLimiter, turn: Turn, item_id: str, document_id: int) -> None:
    """One batch, or single requests for up to ``TURN_SLICE``: a message to the back of the queue
    for every single document would leave the single lane idle while the queue is long."""
    ends = time.monotonic() + TURN_SLICE.total_seconds()
    while True:
        # Wait for a lane before claiming, so a waiting delivery holds no rows.
        try:
            lane = realm.bulk_lane(turn)
        except QboThrottled:
            return  # the turn ends; its next message comes round the queue again
        items = outbox.claim_in_lane(item_id, connection.company_id, document_id, up_to=lane.batch_size)
        if items and realm.bulk_turns_held() < settings.QBO_BULK_TURNS_PER_COMPANY:
            _next_turn(connection.company_id, realm)  # one more turn beside this one, at the back of the queue
        _deliver(connection, items, lane)
        if lane.lane is Lane.BATCH or not items or time.monotonic() >= ends:
            return
        waiting = outbox.oldest_waiting(connection.company_id)
        if waiting is None:
            return
        item_id, document_id = str(waiting[0]), waiting[1]


def _end_turn(company_id: int, realm: RealmLimiter, turn: Turn) -> None:
    """Give the turn back and send the message for the company's next one.

    The next turn is announced before the turn is given back, so the company's bulk work never
    looks stopped in between: an approval's message taken then would start a turn of its own, and
    the company's next batch would overtake the companies whose messages wait in the queue (CI on
    RabbitMQ: 90 of one company's 150 invoices went before another's 30). With no row waiting the
    announcement is withdrawn, and the rows looked for once more: an approval that committed its
    row and saw the announcement left that row to this turn (``_dispatch_unless_bulk_running``)."""
    realm.next_turn_queued()
    turn.give_back()
    if _next_turn(company_id, realm):
        return
    realm.next_turn_arrived()
    _next_turn(company_id, realm)


def _next_turn(company_id: int, realm: RealmLimiter) -> bool:
    """The message for the company's oldest waiting row, at the back of the queue. Whether one was
    sent (or was due to be: when the broker is down, the sweeper sends it)."""
    waiting = outbox.oldest_waiting(company_id)
    if waiting is None:
        return False
    realm.next_turn_queued()
    outbox.mark_dispatched([waiting[0]])
    try:
        deliver_outbox_item.send_with_options(args=(str(waiting[0]),), kwargs={"next_turn": True})
    except Exception:  # broker down: the sweeper will re-send
        log.exception("Could not send outbox message %s; the sweeper will retry", waiting[0])
    return True


def _deliver(connection: Connection, items: list[OutboxItem], lane: LaneLimiter | None = None) -> None:
    if not items:
        return
    client = client_for(connection)
    if lane is not None:
        client.limiter = lane
    realm = limiter_for(connection.realm_id)
    try:
        with realm.slot():
            _send(connection, client, items)
    except ReconnectNeeded as exc:
        log.warning(
            "QuickBooks: %d document(s) of %s wait until QuickBooks is reconnected on Integrations: %s",
            len(items),
            connection.company.name,
            exc.message,
        )
        _settle_unsettled(items, DeliveryResult.paused(exc.message, delay=PAUSED, until_reconnected=True))
    except QboError as exc:  # our own limiter's wait ran out
        _settle_unsettled(items, DeliveryResult.paused(exc.message, delay=LIMITER_WAIT, redispatch=True))
    except Exception as exc:
        # A bug or a database hiccup: give the rows back (counted, so a poison row ends up Failed
        # by MAX_ATTEMPTS instead of looping) and let the sweeper bring them round again.
        log.exception("Delivery of %s failed unexpectedly", [str(row.id) for row in items])
        _settle_unsettled(items, DeliveryResult(Outcome.CRASHED, message=str(exc), delay=CRASH_WAIT))
        raise


def _send(connection: Connection, client: QboClient, items: list[OutboxItem]) -> None:
    results: list[tuple[OutboxItem, DeliveryResult]] = []
    if len(items) > 1:
        results, items = deliver_batch(connection=connection, client=client, items=items)
        # The batch's creates land together: their attempts in one INSERT, their rows finished in
        # one UPDATE while the claim holds for all of them (else row by row, each outcome known).
        done = [(item, result) for item, result in results if result.outcome is Outcome.DONE]
        record_attempts(done)
        finished = len(done) > 1 and outbox.finish_all([item for item, _ in done])
        for item, result in results:
            if result.outcome is not Outcome.DONE:
                settle(item, result)
            elif not finished:
                settle(item, result, recorded=True)
    batched = len(results)
    for item in items:
        result = reconcile(connection=connection, client=client, item=item)
        settle(item, result)
        results.append((item, result))
    if log.isEnabledFor(logging.INFO):  # the company's name is read only when the line is shown
        log.info("QuickBooks: %s for %s", _summary([r for _, r in results], batched), connection.company.name)
    if any(result.outcome is Outcome.DONE for _, result in results):
        # Once per delivery, not per row: a batch of 30 would otherwise write the row 30 times.
        Connection.objects.filter(pk=connection.pk).update(last_sync_at=timezone.now())


def _settle_unsettled(items: list[OutboxItem], result: DeliveryResult) -> None:
    for item in items:
        if item.state == OutboxState.IN_FLIGHT:
            settle(item, result)


def settle(item: OutboxItem, result: DeliveryResult, *, recorded: bool = False) -> None:
    """The one place a delivery's outcome lands: the outbox row, the document's status, the attempt.

    The row changes only while our claim holds (compare-and-set), and the document's status only
    after it did: a delivery that outlived its lease (another worker has the row now) records what
    it did and changes nothing else. ``recorded``: the attempt is written already (a batch's, in bulk).
    """
    if not recorded:
        record_attempt(item=item, result=result)
    if result.outcome is Outcome.DONE:
        outbox.finish(item)
    elif result.outcome is Outcome.FAILED:
        _fail(item, code=result.error_code or result.code, message=result.shown)
        if item.state == OutboxState.FAILED:  # not a late answer: the document says Failed now
            log.warning("QuickBooks: %s was not sent: %s", item.document.number or item.document_id, result.shown)
    elif result.outcome is Outcome.RETRY:
        # One transaction: the released row is not claimed (and finished) by another worker
        # before the document says Queued, which would then say it with nothing on its way.
        with transaction.atomic():
            released = outbox.release(item, delay=result.delay, error=_outbox_error(result))
            if released:
                DocumentSync.objects.filter(document_id=item.document_id).update(
                    status=SyncStatus.QUEUED, error_message=result.shown, updated_at=timezone.now()
                )
        if released:
            dispatch([item.id], delay=result.delay)
    elif result.outcome is Outcome.PAUSED:
        released = outbox.release(item, delay=result.delay, error=result.message, count_attempt=False)
        if released and result.redispatch:
            dispatch([item.id], delay=result.delay)
        elif released and result.until_reconnected and _connected(item.company_id):
            # An Admin reconnected while this delivery failed on the old sign-in, after the
            # reconnect had sent the waiting rows again (this one was in flight then): go now.
            # Checked after the release, so either the reconnect finds the row waiting or we do.
            outbox.due_now(item)
            dispatch([item.id])
    elif item.attempts + 1 >= MAX_ATTEMPTS:  # CRASHED, for the last time
        _fail(item, code="internal", message=f"procuresync could not send this document: {result.message}")
    else:  # CRASHED: the sweeper brings it round again
        outbox.release(item, delay=result.delay, error=f"Internal error: {result.message}")
    if item.state == OutboxState.IN_FLIGHT:
        log.warning("Outbox row %s was taken over; this late %s result changed nothing", item.id, result.outcome)
        item.state = OutboxState.DONE  # this delivery is done with it either way


# How the summary line of a delivery names each outcome, sent in a batch or one by one.
_BATCH_WORDS = {Outcome.DONE: "created", Outcome.FAILED: "failed", Outcome.RETRY: "to retry"}
_SINGLE_WORDS = {Outcome.DONE: "done", Outcome.FAILED: "failed", Outcome.RETRY: "to retry"}


def _counted(results: list[DeliveryResult], words: dict[Outcome, str]) -> str:
    counts: dict[str, int] = {}
    for result in results:
        word = words.get(result.outcome, str(result.outcome))
        counts[word] = counts.get(word, 0) + 1
    return ", ".join(f"{n} {word}" for word, n in counts.items())


def _summary(results: list[DeliveryResult], batched: int) -> str:
    """One line for the console per delivery, e.g. "sent 30 documents in one batch (28 created, 2 failed)"."""
    batch, singles = results[:batched], results[batched:]
    documents = f"{len(results)} document{'s' if len(results) != 1 else ''}"
    in_batch = f"in one batch ({_counted(batch, _BATCH_WORDS)})"
    one_by_one = f"one by one ({_counted(singles, _SINGLE_WORDS)})"
    if not singles:
        return f"sent {documents} {in_batch}"
    if not batch:
        return f"sent {documents} {one_by_one}"
    return f"sent {documents}: {len(batch)} {in_batch}, {len(singles)} {one_by_one}"


def _connected(company_id: int) -> bool:
    return Connection.objects.filter(company_id=company_id, status=ConnectionStatus.CONNECTED).exists()


@transaction.atomic  # the document's next row waits until it says Failed, so it cannot be overwritten
def _fail(item: OutboxItem, *, code: str, message: str) -> None:
    if not outbox.finish(item, failed=True, error=message):
        return
    DocumentSync.objects.update_or_create(
        document_id=item.document_id,
        defaults={"status": SyncStatus.FAILED, "error_code": code[:40], "error_message": message},
        create_defaults={
            "company_id": item.company_id,
            "status": SyncStatus.FAILED,
            "error_code": code[:40],
            "error_message": message,
        },
    )


def _outbox_error(result: DeliveryResult) -> str:
    code = f" [{result.code}]" if result.code else ""
    return f"{result.message}{code}"
