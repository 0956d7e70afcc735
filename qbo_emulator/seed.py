"""Sandbox companies: a chart of accounts, vendors, classes, departments, terms, tax codes, items,
plus Preferences and CompanyInfo, all created through the `Ledger` like any other change.
Also the bulk loader the benchmarks use (N bills and payments in one call).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from .currency import vendor_currency_fields
from .models import Company, Obj
from .tax_tables import ADDRESSES, COUNTRIES, HOME_CURRENCY, add_tax_lists, default_code_ref, seed_tax_edition

if TYPE_CHECKING:
    from .runtime import Emulator

DEFAULT_ACCOUNTS: list[Obj] = [
    {"Name": "Accounts Payable (A/P)", "AccountType": "Accounts Payable", "AccountSubType": "AccountsPayable"},
    {"Name": "Checking", "AccountType": "Bank", "AccountSubType": "Checking"},
    {"Name": "Savings", "AccountType": "Bank", "AccountSubType": "Savings"},
    {"Name": "Visa", "AccountType": "Credit Card", "AccountSubType": "CreditCard"},
    {"Name": "Advertising", "AccountType": "Expense", "AccountSubType": "AdvertisingPromotional"},
    {"Name": "Office Supplies", "AccountType": "Expense", "AccountSubType": "OfficeGeneralAdministrativeExpenses"},
    {"Name": "Bank Charges", "AccountType": "Expense", "AccountSubType": "BankCharges"},
    {"Name": "Job Materials", "AccountType": "Cost of Goods Sold", "AccountSubType": "SuppliesMaterialsCogs"},
    {"Name": "Travel", "AccountType": "Expense", "AccountSubType": "Travel"},
    {"Name": "Purchase Discounts", "AccountType": "Expense", "AccountSubType": "OtherMiscellaneousServiceCost"},
]
DEFAULT_VENDORS = ["Bob's Burger Joint", "Norton Lumber and Building Materials", "Hicks Hardware",
                   "Books by Bessie", "Hall Properties"]
DEFAULT_CUSTOMERS = ["Amy's Bird Sanctuary", "Cool Cars"]
DEFAULT_CLASSES = ["Operations", "Sales"]
DEFAULT_DEPARTMENTS = ["Head Office", "Warehouse"]
DEFAULT_TERMS = [("Due on receipt", 0), ("Net 15", 15), ("Net 30", 30), ("Net 60", 60)]
DEFAULT_ITEMS = [("Office Chair", "NonInventory", "Office Supplies", 120.0),
                 ("Garden Supplies", "NonInventory", "Job Materials", 25.0),
                 ("Consulting", "Service", "Travel", 150.0)]
# Purchase Order custom field definitions (qbo-samples/purchaseorder.json).
PO_CUSTOM_FIELDS = [{"DefinitionId": "1", "Name": "Crew #", "Type": "StringType", "StringValue": ""},
                    {"DefinitionId": "2", "Name": "Sales Rep", "Type": "StringType", "StringValue": ""}]


def create_company(emulator: Emulator, *, name: str = "Sandbox Company", realm_id: str | None = None,
                   seed: bool = True, home_currency: str | None = None, country: str = "US",
                   multicurrency: bool = False) -> Company:
    """A company of one tax edition (``country`` US, GB or CA: tax_tables.py) keeping its books in
    ``home_currency`` (by default the country's: USD, GBP, CAD), chosen when it is created and
    never changed afterwards (in QBO the home currency is fixed once set; Preferences are
    read-only in the API). ``multicurrency`` can be turned on later, never off (qbo-api.md §11)."""
    country = country.upper()
    if country not in COUNTRIES:
        raise ValueError(f"country must be one of {', '.join(COUNTRIES)}")
    home_currency = (home_currency or HOME_CURRENCY[country]).upper()
    if len(home_currency) != 3 or not home_currency.isalpha():
        raise ValueError("home_currency must be a three-letter currency code")
    company = emulator.store.add(Company(realm_id=realm_id or emulator.store.new_realm_id(), name=name))
    ledger = emulator.ledger(company)
    ledger.create("Preferences", {
        "AccountingInfoPrefs": {"TrackDepartments": True, "DepartmentTerminology": "Location",
                                "ClassTrackingPerTxn": False, "ClassTrackingPerLine": True,
                                "CustomerTerminology": "Customers"},
        "VendorAndPurchasesPrefs": {"TrackingByCustomer": True, "BillableExpenseTracking": True,
                                    "UseCustomTxnNumbers": True, "POCustomField": PO_CUSTOM_FIELDS},
        "CurrencyPrefs": {"MultiCurrencyEnabled": bool(multicurrency), "HomeCurrency": {"value": home_currency}},
    }, obj_id="1")
    ledger.create("CompanyInfo", {
        "CompanyName": name, "LegalName": name, "Country": country, "CompanyAddr": dict(ADDRESSES[country]),
        "FiscalYearStartMonth": "January", "SupportedLanguages": "en",
    }, obj_id="1")
    seed_tax_edition(ledger, country)
    if seed:
        seed_company(emulator, company, defaults=True)
    return company


def seed_company(emulator: Emulator, company: Company, *, defaults: bool = False,
                 data: dict[str, list[Any]] | None = None) -> dict[str, dict[str, str]]:
    """Create name-list objects; return {entity: {name: id}} of everything created."""
    ledger = emulator.ledger(company)
    data = dict(data or {})
    if defaults:
        data.setdefault("accounts", DEFAULT_ACCOUNTS)
        data.setdefault("terms", [{"Name": n, "DueDays": d} for n, d in DEFAULT_TERMS])
        data.setdefault("classes", DEFAULT_CLASSES)
        data.setdefault("departments", DEFAULT_DEPARTMENTS)
        data.setdefault("customers", DEFAULT_CUSTOMERS)
        data.setdefault("vendors", DEFAULT_VENDORS)
    created: dict[str, dict[str, str]] = {}
    if data.get("tax_rates") or data.get("tax_codes"):
        created.update(add_tax_lists(ledger, list(data.get("tax_rates") or []), list(data.get("tax_codes") or [])))
    plan = [("accounts", "Account", "Name"), ("terms", "Term", "Name"), ("classes", "Class", "Name"),
            ("departments", "Department", "Name"), ("customers", "Customer", "DisplayName"),
            ("vendors", "Vendor", "DisplayName")]
    for key, entity, name_field in plan:
        for entry in data.get(key, []):
            body = {name_field: entry} if isinstance(entry, str) else dict(entry)
            obj = ledger.create(entity, body)
            created.setdefault(entity, {})[obj[name_field]] = obj["Id"]
    items = data.get("items")
    if items is None and defaults:
        accounts = {a["Name"]: a["Id"] for a in company.table("Account").values()}
        items = [{"Name": n, "Type": t, "ExpenseAccountRef": {"value": accounts[acct]}, "PurchaseCost": cost}
                 for n, t, acct, cost in DEFAULT_ITEMS]
    for entry in items or []:
        obj = ledger.create("Item", dict(entry))
        created.setdefault("Item", {})[obj["Name"]] = obj["Id"]
    return created


def find_account(company: Company, account_type: str) -> Obj | None:
    return next((a for a in company.table("Account").values()
                 if a.get("AccountType") == account_type and a.get("Active", True)), None)


def bulk_load(emulator: Emulator, company: Company, *, bills: int, pay_ratio: float = 1.0,
              start: str | None = None, days: int = 28, amount: float = 100.0) -> dict[str, Any]:
    """N bills spread over `days` from `start` and payments for `pay_ratio` of them, each through
    the Ledger (so CDC sees them; webhooks fire if configured)."""
    ledger = emulator.ledger(company)
    vendors = [v["Id"] for v in company.table("Vendor").values() if v.get("Active", True)]
    expense = next((a for a in company.table("Account").values() if a.get("AccountType") == "Expense"), None)
    bank = find_account(company, "Bank")
    if not vendors or expense is None or bank is None:
        raise ValueError("seed the company first (vendors, an expense and a bank account are needed)")
    first = date.fromisoformat(start) if start else date.fromisoformat(ledger.today()) - timedelta(days=days)
    paid_every = 0 if pay_ratio <= 0 else max(1, round(1 / pay_ratio))
    bill_ids: list[str] = []
    payment_ids: list[str] = []
    detail: Obj = {"AccountRef": {"value": expense["Id"]}}
    code = default_code_ref(company)
    if code:
        detail["TaxCodeRef"] = code  # non-US lines need a tax code (tax.py)
    for i in range(bills):
        txn_date = (first + timedelta(days=i % max(1, days))).isoformat()
        value = round(amount + (i % 97), 2)
        vendor = vendors[i % len(vendors)]
        currency = vendor_currency_fields(company, vendor)
        bill = ledger.create("Bill", {
            "VendorRef": {"value": vendor}, "TxnDate": txn_date, "DocNumber": f"BULK-{company.next_id}",
            "Line": [{"DetailType": "AccountBasedExpenseLineDetail", "Amount": value,
                      "AccountBasedExpenseLineDetail": dict(detail)}], **currency})
        bill_ids.append(bill["Id"])
        if paid_every and i % paid_every == 0:
            total = bill["TotalAmt"]  # with tax outside the US
            payment = ledger.create("BillPayment", {
                "VendorRef": {"value": vendor}, "PayType": "Check", "TotalAmt": total, "TxnDate": txn_date,
                "CheckPayment": {"BankAccountRef": {"value": bank["Id"]}}, **currency,
                "Line": [{"Amount": total, "LinkedTxn": [{"TxnId": bill["Id"], "TxnType": "Bill"}]}]})
            payment_ids.append(payment["Id"])
    return {"bills": len(bill_ids), "payments": len(payment_ids),
            "first_bill_id": bill_ids[0] if bill_ids else None,
            "first_payment_id": payment_ids[0] if payment_ids else None}
