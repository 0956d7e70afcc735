"""Links between transactions, on both sides: the purchase orders a bill was made from, the
bills and vendor credits a bill payment applies to, the balances and PO status those links
change, and undoing all of it before an update, a delete or a void.
"""

from __future__ import annotations

from decimal import Decimal

from . import faults
from .ledger_core import PAYMENT_LINK_TYPE, LedgerCore, money, num
from .models import Obj


class TransactionLinks(LedgerCore):
    """Keeping the links between purchase orders, bills, bill payments and vendor credits."""

    def _po_ids(self, obj: Obj) -> list[str]:
        ids = [str(lt["TxnId"]) for lt in obj.get("LinkedTxn", []) or [] if lt.get("TxnType") == "PurchaseOrder"]
        for line in obj.get("Line", []):
            ids += [str(lt["TxnId"]) for lt in line.get("LinkedTxn", []) or []
                    if lt.get("TxnType") == "PurchaseOrder"]
        return list(dict.fromkeys(ids))

    def _bill_po_links(self, obj: Obj, current: Obj | None) -> None:
        """Header LinkedTxn = the POs this bill was made from (sent by the client, header or
        line level; QBO returns the header link to the PO in both cases, §11a) + the payments
        QBO linked itself. Line links name the PO line billed (`TxnLineId`)."""
        po_ids = self._po_ids(obj)
        for po_id in po_ids:
            if self.company.get("PurchaseOrder", po_id) is None:
                raise faults.invalid_reference("PurchaseOrder", po_id, "LinkedTxn")
        for line in obj.get("Line", []):
            for link in line.get("LinkedTxn") or []:
                if link.get("TxnType") == "PurchaseOrder":
                    self._check_po_line_link(link)
        payments = [lt for lt in (current or {}).get("LinkedTxn", []) if lt["TxnType"] in PAYMENT_LINK_TYPE.values()]
        links = [{"TxnId": po_id, "TxnType": "PurchaseOrder"} for po_id in po_ids] + payments
        if links:
            obj["LinkedTxn"] = links
        else:
            obj.pop("LinkedTxn", None)

    def _check_po_line_link(self, link: Obj) -> None:
        """A Bill line's link to a PO line. Intuit: `TxnLineId` is "Required for Deposit and Bill
        entities" (§1.1). Integrators report QBO may drop an unknown `TxnLineId` silently
        (UNCONFIRMED); refusing it is the reading that shows a client's mistake."""
        po = self.company.get("PurchaseOrder", str(link["TxnId"]))
        assert po is not None  # checked with the header links
        link["TxnId"] = po["Id"]
        if link.get("TxnLineId") in (None, ""):
            raise faults.required_param_missing("Line.LinkedTxn.TxnLineId")
        link["TxnLineId"] = str(link["TxnLineId"])
        if link["TxnLineId"] not in {str(po_line.get("Id")) for po_line in po.get("Line", [])}:
            raise faults.invalid_reference("PurchaseOrder line", link["TxnLineId"], "Line.LinkedTxn.TxnLineId")

    @staticmethod
    def _applied(payment: Obj) -> dict[tuple[str, str], Decimal]:
        applied: dict[tuple[str, str], Decimal] = {}
        for line in payment.get("Line", []):
            for link in (line.get("LinkedTxn") or [])[:1]:
                key = (link["TxnType"], str(link["TxnId"]))
                applied[key] = applied.get(key, Decimal(0)) + money(line["Amount"])
        return applied

    def _link(self, entity: str, obj: Obj) -> None:
        if entity == "BillPayment":
            link_type = PAYMENT_LINK_TYPE[obj["PayType"]]
            for (txn_type, txn_id), amount in self._applied(obj).items():
                target = self.company.get(txn_type, txn_id)
                assert target is not None
                target["Balance"] = num(money(target["Balance"]) - amount)
                links = target.setdefault("LinkedTxn", [])
                if not any(lt["TxnId"] == obj["Id"] and lt["TxnType"] == link_type for lt in links):
                    links.append({"TxnId": obj["Id"], "TxnType": link_type})
                self.touch(target)
        elif entity == "Bill":
            for po_id in self._po_ids(obj):
                po = self.company.get("PurchaseOrder", po_id)
                assert po is not None
                links = po.setdefault("LinkedTxn", [])
                if not any(lt["TxnId"] == obj["Id"] for lt in links):
                    links.append({"TxnId": obj["Id"], "TxnType": "Bill"})
                self._po_status(po)
                self.touch(po)

    def _unlink(self, entity: str, current: Obj, *, deleting: bool = False) -> None:
        """Undo what `_link` did for `current` (before an update, a delete or a void). A PO links
        nothing itself (bills link to it), so only deleting one takes it off its bills."""
        if entity == "BillPayment":
            for (txn_type, txn_id), amount in self._applied(current).items():
                target = self.company.get(txn_type, txn_id)
                if target is None:
                    continue
                target["Balance"] = num(money(target["Balance"]) + amount)
                remaining = [lt for lt in target.get("LinkedTxn", []) if lt["TxnId"] != current["Id"]]
                if remaining:
                    target["LinkedTxn"] = remaining
                else:
                    target.pop("LinkedTxn", None)
                self.touch(target)
        elif entity == "Bill":
            for po_id in self._po_ids(current):
                po = self.company.get("PurchaseOrder", po_id)
                if po is None:
                    continue
                po["LinkedTxn"] = [lt for lt in po.get("LinkedTxn", []) if lt["TxnId"] != current["Id"]]
                if not po["LinkedTxn"]:
                    po.pop("LinkedTxn")
                self._po_status(po)
                self.touch(po)
        elif entity == "PurchaseOrder" and deleting:
            for link in current.get("LinkedTxn", []):
                bill = self.company.get("Bill", link["TxnId"])
                if bill is not None and bill.get("LinkedTxn"):
                    bill["LinkedTxn"] = [lt for lt in bill["LinkedTxn"] if lt["TxnId"] != current["Id"]]
                    for line in bill["Line"]:
                        if line.get("LinkedTxn"):
                            line["LinkedTxn"] = [lt for lt in line["LinkedTxn"] if lt["TxnId"] != current["Id"]]
                    self.touch(bill)

    def _po_status(self, po: Obj) -> None:
        """Closed once every PO line is fully billed: the Amounts of the bill lines linked to its
        `TxnLineId`, over all linked bills, reach the PO line's Amount (§11a: a fully billed PO
        shows Closed). A header-only link bills no line, so it never closes a PO (integrators:
        QBO needs `TxnLineId` to link; UNCONFIRMED). A partly billed PO stays Open (UNCONFIRMED)."""
        billed: dict[str, Decimal] = {}
        for bill_link in po.get("LinkedTxn", []):
            bill = self.company.get("Bill", bill_link["TxnId"]) if bill_link.get("TxnType") == "Bill" else None
            for line in (bill or {}).get("Line", []):
                for link in line.get("LinkedTxn") or []:
                    if link.get("TxnType") == "PurchaseOrder" and str(link.get("TxnId")) == po["Id"]:
                        key = str(link.get("TxnLineId"))
                        billed[key] = billed.get(key, Decimal(0)) + money(line["Amount"])
        lines = po.get("Line", [])
        closed = bool(billed) and bool(lines) and all(
            billed.get(str(line.get("Id")), Decimal(0)) >= money(line["Amount"]) for line in lines)
        po["POStatus"] = "Closed" if closed else "Open"
