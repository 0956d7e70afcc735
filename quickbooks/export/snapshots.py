"""Our document, read once from the database, as the plain snapshot that ``mapping`` turns into JSON.

Everything QuickBooks would refuse is refused here first, with what to change: an option with no
QuickBooks counterpart, a tax rate with no tax code (outside the US), a currency QuickBooks cannot
book for this company or vendor.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from procurement.models import CustomFieldValue, Document, DocumentKind, DocumentLine, ListKind, ListOption
from quickbooks.errors import NotMappable
from quickbooks.export.mapping import DocumentSnapshot, LineSnapshot, TaxLineSnapshot
from quickbooks.export.vendors import vendor_links
from quickbooks.models import Connection, DocumentSync, VendorLink
from quickbooks.tax import CompanyTaxCodes, TaxCode, TaxRate, company_tax_codes


def _external(option: ListOption | None, what: str, line_no: int) -> str | None:
    if option is None:
        return None
    if not option.external_id:
        raise NotMappable(
            f"Line {line_no}: the {what} “{option.name}” does not exist in QuickBooks. "
            "Import the lists on Integrations and choose one from QuickBooks."
        )
    return option.external_id


LINE_RELATIONS = ("account", "line_class", "customer_project", "item", "tax_code")


@dataclass
class BatchReads:
    """What ``document_snapshot`` reads for each document, read once for a batch of one company's
    documents (``batch_reads``): their suppliers' vendor links, their lines, the tax codes."""

    links: dict[int, VendorLink]
    lines: dict[int, list[DocumentLine]]
    tax_codes: CompanyTaxCodes | None


def batch_reads(documents: list[Document], connection: Connection) -> BatchReads:
    lines: dict[int, list[DocumentLine]] = {document.pk: [] for document in documents}
    query = DocumentLine.objects.filter(document_id__in=lines).select_related(*LINE_RELATIONS)
    for line in query:  # the lines' own order (position, id), as ``document.lines`` reads them
        lines[line.document_id].append(line)
    codes = company_tax_codes(connection.company_id) if connection.computes_tax and documents else None
    return BatchReads(vendor_links(connection, (d.supplier_id for d in documents)), lines, codes)


def document_snapshot(
    *, document: Document, connection: Connection, vendor_ref: str, reads: BatchReads | None = None
) -> DocumentSnapshot:
    """``reads``: what was read for the document's whole batch, with its supplier's vendor link
    (``ensure_vendor`` has run); otherwise the document's lines, link and tax codes are read here."""
    check_currency(document, connection, links=reads.links if reads is not None else None)
    default_account = connection.default_expense_account
    lines = []
    codes: CompanyTaxCodes | None
    if reads is not None:
        our_lines, codes = reads.lines[document.pk], reads.tax_codes
    else:
        our_lines = list(document.lines.select_related(*LINE_RELATIONS))
        codes = company_tax_codes(document.company_id) if connection.computes_tax else None
    taxes: dict[TaxRate, list[Decimal]] = {}
    if codes is not None:
        problems, taxes = _tax_plan(document, our_lines, codes)
        if problems:
            raise NotMappable(" ".join(p.message for p in problems), code=problems[0].code)
    po_ref, po_lines = _order_lines(document, our_lines)
    for number, line in enumerate(our_lines, start=1):
        account = _external(line.account or default_account, "account", number)
        item = _external(line.item, "product/service", number)
        if account is None and item is None:
            raise NotMappable(
                f"Line {number} has no account. Choose one, or set a default expense account on Integrations."
            )
        net = line.net_amount - line.document_discount_share
        if codes is None:
            amount, tax_code_ref = net + line.tax_amount, _external(line.tax_code, "tax code", number)
        else:
            amount, tax_code_ref = net, _code_ref(codes, line)
        lines.append(
            LineSnapshot(
                description=line.description,
                quantity=line.quantity,
                unit_price=line.unit_price,
                amount=amount,
                account_ref=account,
                item_ref=item,
                class_ref=_external(line.line_class, "class", number),
                customer_ref=_external(line.customer_project, "customer/project", number),
                tax_code_ref=tax_code_ref,
                po_line_ref=po_lines.get(line.pk),
            )
        )
    tax_lines = tuple(
        TaxLineSnapshot(rate_ref=rate.ref, percent=rate.percent, net_taxable=parts[0], amount=parts[1])
        for rate, parts in taxes.items()
    )
    department_ref = None
    if connection.location_field_id:
        value = CustomFieldValue.objects.filter(document=document, field_id=connection.location_field_id).first()
        if value and value.value:
            option = ListOption.objects.filter(
                company_id=document.company_id, kind=ListKind.LOCATION, name__iexact=value.value
            ).first()
            if option is None or not option.external_id:
                raise NotMappable(f"The location “{value.value}” does not exist in QuickBooks; choose another.")
            department_ref = option.external_id
    return DocumentSnapshot(
        kind=document.kind,
        number=document.number,
        supplier_unique_code=document.supplier_unique_code,
        vendor_ref=vendor_ref,
        txn_date=document.issue_date,
        due_date=document.due_date,
        currency=document.currency,
        exchange_rate=document.exchange_rate,
        home_currency=connection.home_currency or document.company.home_currency,
        lines=tuple(lines),
        total=document.total,
        ap_account_ref=connection.default_ap_account.external_id if connection.default_ap_account else None,
        department_ref=department_ref,
        linked_po_ref=po_ref,
        tax_calculation="TaxExcluded" if codes is not None else "NotApplicable",
        tax_lines=tax_lines,
    )


def send_problems(document: Document, connection: Connection) -> list[NotMappable]:
    """Everything that would stop this document on its way to QuickBooks, known without asking
    QuickBooks (currency, tax codes, a total QuickBooks would compute differently), where
    ``document_snapshot`` stops at the first: shown on the document before it is approved."""
    problems: list[NotMappable] = []
    try:
        check_currency(document, connection)
    except NotMappable as exc:
        problems.append(exc)
    if connection.computes_tax:
        problems += _tax_plan(document, list(document.lines.all()), company_tax_codes(document.company_id))[0]
    return problems


def _tax_plan(
    document: Document, lines: list[DocumentLine], codes: CompanyTaxCodes
) -> tuple[list[NotMappable], dict[TaxRate, list[Decimal]]]:
    """(why QuickBooks would refuse the lines' tax, each rate's [net taxable, tax] on the document).
    QuickBooks computes TotalAmt itself, so a total it would not match is refused too."""
    problems = [
        NotMappable(problem, code="tax_unmapped")
        for number, line in enumerate(lines, start=1)
        if (problem := codes.problem(line, number))
    ]
    taxes: dict[TaxRate, list[Decimal]] = {}
    if problems:
        return problems, taxes
    net = Decimal("0")
    for line in lines:
        line_net = line.net_amount - line.document_discount_share
        net += line_net
        for rate, tax in _code(codes, line).tax_on(line_net):
            parts = taxes.setdefault(rate, [Decimal("0"), Decimal("0")])
            parts[0] += line_net
            parts[1] += tax
    theirs = net + sum((parts[1] for parts in taxes.values()), Decimal("0"))
    if theirs != document.total:
        problems.append(
            NotMappable(
                f"QuickBooks computes tax line by line and rate by rate, which gives {document.number} a total of "
                f"{theirs:,.2f} {document.currency}; ours is {document.total:,.2f}. Revise the document and approve "
                "it again: its totals are then computed the way QuickBooks computes them.",
                code="tax_total_differs",
            )
        )
    return problems, taxes


def _code(codes: CompanyTaxCodes, line: DocumentLine) -> TaxCode:
    code = codes.code_for(line)
    assert code is not None  # lines without a usable code are refused before
    return code


def _code_ref(codes: CompanyTaxCodes, line: DocumentLine) -> str:
    return _code(codes, line).ref


def check_currency(document: Document, connection: Connection, *, links: dict[int, VendorLink] | None = None) -> None:
    """A currency QuickBooks cannot book is refused here, saying what to change (qbo-api.md §11).
    ``links``: the vendor links read for a batch (a supplier not in it has none)."""
    home = (connection.home_currency or document.company.home_currency).upper()
    currency = (document.currency or home).upper()
    if currency != home and not connection.multicurrency:
        raise NotMappable(
            f"{document.number} is in {currency}, but multicurrency is off in QuickBooks, which keeps its books in "
            f"{home} only. Turn on multicurrency in QuickBooks (Settings → Account and settings → Advanced → "
            f"Currency), reconnect to read it, then press Retry; or revise the document into {home}.",
            code="currency_refused",
        )
    if links is not None:
        link = links.get(document.supplier_id)
    else:
        link = VendorLink.objects.filter(supplier_id=document.supplier_id, realm_id=connection.realm_id).first()
    if link is not None and link.currency and link.currency != currency:
        raise NotMappable(
            f"{document.number} is in {currency}, but its supplier is the QuickBooks vendor “{link.qbo_name}”, whose "
            f"currency is {link.currency}; QuickBooks books a vendor's documents in the vendor's currency only, and "
            f"a vendor's currency cannot change. Revise the document into {link.currency}, or link the supplier "
            f"to a {currency} vendor on Integrations.",
            code="currency_refused",
        )


def _order_lines(document: Document, ours: list[DocumentLine]) -> tuple[str | None, dict[int, str]]:
    """For an invoice made from a purchase order in QuickBooks: the order's QuickBooks id, and for
    each of our lines that matches an order line, that line's QuickBooks Id (TxnLineId).

    A line matches the order line with the same description and the same item and account; failing
    that, the same description. Each order line is billed by one line of the invoice at most.
    """
    if document.kind != DocumentKind.INVOICE or not document.purchase_order_id:
        return None, {}
    po_sync = DocumentSync.objects.filter(document_id=document.purchase_order_id).exclude(qbo_id="").first()
    if po_sync is None or po_sync.deleted_in_qbo:
        return None, {}
    order = list(DocumentLine.objects.filter(document_id=document.purchase_order_id))
    qbo_line_ids = po_sync.line_ids or {}
    matched: dict[int, str] = {}
    used: set[int] = set()
    for strict in (True, False):
        for line in ours:
            if line.pk in matched:
                continue
            for candidate in order:
                if candidate.pk in used or str(candidate.pk) not in qbo_line_ids:
                    continue
                same_text = candidate.description.strip().lower() == line.description.strip().lower()
                same_refs = (candidate.item_id, candidate.account_id) == (line.item_id, line.account_id)
                if same_text and (same_refs or not strict):
                    matched[line.pk] = str(qbo_line_ids[str(candidate.pk)])
                    used.add(candidate.pk)
                    break
    return po_sync.qbo_id, matched
