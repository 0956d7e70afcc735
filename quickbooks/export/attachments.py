"""Documents' files as QuickBooks Attachables, uploaded after the Bill or PurchaseOrder exists.

Zip archives and HEIC/HEIF photos are kept here but not sent: QuickBooks does not take them
(the issue's rule; Intuit's list of accepted types has neither).
"""

from __future__ import annotations

from collections.abc import Iterable

from procurement.models import Attachment, Document
from quickbooks.client import QboClient, request_id
from quickbooks.models import DocumentSync

NOT_SENT_EXTENSIONS = (".zip", ".heic", ".heif")
NOT_SENT_TYPES = ("application/zip", "application/x-zip-compressed", "image/heic", "image/heif")


def is_sendable(attachment: Attachment) -> bool:
    name = attachment.name.lower()
    return not name.endswith(NOT_SENT_EXTENSIONS) and attachment.content_type.lower() not in NOT_SENT_TYPES


def not_uploaded(document_ids: Iterable[int]) -> dict[int, list[Attachment]]:
    """The files QuickBooks does not have yet of each of these documents, in one query (a batch's)."""
    files: dict[int, list[Attachment]] = {}
    for attachment in Attachment.objects.filter(document_id__in=set(document_ids), qbo_attachable_id=""):
        files.setdefault(attachment.document_id, []).append(attachment)
    return files


def upload_pending(
    *, client: QboClient, document: Document, sync: DocumentSync, files: list[Attachment] | None = None
) -> int:
    """Upload the document's files that QuickBooks does not have yet; returns how many. ``files``:
    those files, read beforehand with the batch's (``not_uploaded``)."""
    count = 0
    pending = files if files is not None else document.attachments.filter(qbo_attachable_id="")
    for attachment in pending:
        if not is_sendable(attachment):
            continue
        with attachment.file.open("rb") as handle:
            content = handle.read()
        attachable = client.upload(
            entity=sync.qbo_entity,
            qbo_id=sync.qbo_id,
            file_name=attachment.name,
            content_type=attachment.content_type,
            content=content,
            request_id=request_id("attachment", f"{attachment.pk}:{sync.realm_id}:{sync.qbo_id}"),
        )
        attachment.qbo_attachable_id = str(attachable["Id"])
        attachment.save(update_fields=["qbo_attachable_id"])
        count += 1
    return count
