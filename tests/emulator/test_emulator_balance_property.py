"""Property: whatever payments are made, voided, deleted or refused, a bill's Balance is its
total less what its live payments apply, and never leaves [0, TotalAmt]."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from qbo_emulator.app import create_app
from qbo_emulator.config import EmulatorConfig, Limits
from qbo_emulator.faults import QBOFault
from qbo_emulator.seed import create_company

actions = st.lists(st.one_of(
    st.tuples(st.just("pay"), st.integers(min_value=1, max_value=12_000)),  # cents
    st.tuples(st.just("void"), st.integers(min_value=0, max_value=5)),
    st.tuples(st.just("delete"), st.integers(min_value=0, max_value=5)),
), max_size=15)


@settings(max_examples=60, deadline=None)
@given(total_cents=st.integers(min_value=1, max_value=10_000), steps=actions)
def test_given_any_payment_history_then_bill_balance_is_total_less_live_payments(total_cents: int, steps) -> None:
    emulator = create_app(EmulatorConfig(limits=Limits(enabled=False))).state.emulator
    company = create_company(emulator)
    ledger = emulator.ledger(company)
    vendor = next(iter(company.table("Vendor")))
    accounts = {a["Name"]: a["Id"] for a in company.table("Account").values()}
    total = Decimal(total_cents) / 100
    bill = ledger.create("Bill", {"VendorRef": {"value": vendor}, "Line": [{
        "DetailType": "AccountBasedExpenseLineDetail", "Amount": float(total),
        "AccountBasedExpenseLineDetail": {"AccountRef": {"value": accounts["Advertising"]}}}]})
    payments: list[str] = []
    for action, number in steps:
        try:
            if action == "pay":
                amount = float(Decimal(number) / 100)
                payment = ledger.create("BillPayment", {
                    "VendorRef": {"value": vendor}, "PayType": "Check", "TotalAmt": amount,
                    "CheckPayment": {"BankAccountRef": {"value": accounts["Checking"]}},
                    "Line": [{"Amount": amount, "LinkedTxn": [{"TxnId": bill["Id"], "TxnType": "Bill"}]}]})
                payments.append(payment["Id"])
            elif payments:
                target = company.get("BillPayment", payments[number % len(payments)])
                if target is None:
                    continue
                ident = {"Id": target["Id"], "SyncToken": target["SyncToken"]}
                if action == "void":
                    ledger.void("BillPayment", ident)
                else:
                    ledger.delete("BillPayment", ident)
        except QBOFault:
            pass  # refused (e.g. over-payment): must change nothing
        current = company.get("Bill", bill["Id"])
        assert current is not None
        applied = sum((Decimal(str(line["Amount"])) for pid in payments
                       if (p := company.get("BillPayment", pid)) is not None for line in p["Line"]), Decimal(0))
        assert Decimal(str(current["Balance"])) == total - applied
        assert 0 <= Decimal(str(current["Balance"])) <= total
