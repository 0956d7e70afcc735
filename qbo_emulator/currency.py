"""Currency rules (qbo-api.md §1.6, §11): a company keeps its books in its home currency; with
multicurrency off everything is in that currency; with it on (it can never be turned off again)
a transaction is in its vendor's currency, which is fixed when the vendor is created.

Not modelled: exchange-rate tables, home-currency amounts (`HomeBalance`), per-currency A/P
accounts, FX gains.
"""

from __future__ import annotations

from decimal import Decimal

from . import faults
from .ledger_core import CURRENCY_NAMES, LedgerCore, dec
from .models import Company, Obj


class CurrencyRules(LedgerCore):
    """Which currencies a name or a transaction may be in."""

    def check_name_currency(self, entity: str, currency: str) -> None:
        """A vendor (or customer) in a foreign currency needs multicurrency on."""
        if currency != self.home_currency() and not self.multicurrency():
            raise faults.multicurrency_off(entity.lower(), currency)

    def check_txn_currency(self, obj: Obj, vendor: Obj) -> None:
        """Bill, PurchaseOrder, VendorCredit and BillPayment: `CurrencyRef` (omitted = the home
        currency) must be the home currency when multicurrency is off, and the vendor's currency
        when it is on. QBO calls `CurrencyRef` conditionally required with multicurrency on; we
        accept it omitted and read it as the home currency (the safe reading: a home-currency
        vendor works as before, a foreign one is refused)."""
        home = self.home_currency()
        ref = obj.get("CurrencyRef")
        currency = str(ref.get("value") or home).upper() if isinstance(ref, dict) else home
        if isinstance(ref, dict):
            ref.setdefault("name", CURRENCY_NAMES.get(currency, currency))
        if not self.multicurrency():
            if currency != home:
                raise faults.multicurrency_off("transaction", currency)
        else:
            vendor_currency = str((vendor.get("CurrencyRef") or {}).get("value") or home)
            if currency != vendor_currency:
                raise faults.currency_not_vendors(vendor_currency)
        if currency != home:
            # "The default is 1 ... or the QBO rate for the date if omitted" (§11): whether QBO
            # fills the rate from its rate table is UNCONFIRMED; the emulator has no rate table.
            rate = obj.get("ExchangeRate")
            obj["ExchangeRate"] = float(dec(rate, "ExchangeRate")) if rate is not None else 1
            if Decimal(str(obj["ExchangeRate"])) <= 0:
                raise faults.business_validation("ExchangeRate must be greater than zero.", "ExchangeRate")

    def enable_multicurrency(self) -> Obj:
        """A QBO user turns multicurrency on (Preferences are read-only in the API, §11)."""
        prefs = self.read("Preferences", "1")
        currency = prefs.setdefault("CurrencyPrefs", {})
        if not currency.get("MultiCurrencyEnabled"):
            currency["MultiCurrencyEnabled"] = True
            self.touch(prefs)
        return prefs


def vendor_currency_fields(company: Company, vendor_id: str) -> Obj:
    """What a QBO user's transaction for this vendor carries: nothing for a home-currency vendor,
    the vendor's `CurrencyRef` otherwise (the UI puts a bill in the vendor's currency)."""
    vendor = company.get("Vendor", vendor_id) or {}
    prefs = company.get("Preferences", "1") or {}
    home = ((prefs.get("CurrencyPrefs") or {}).get("HomeCurrency") or {}).get("value")
    currency = (vendor.get("CurrencyRef") or {}).get("value")
    return {"CurrencyRef": {"value": currency}} if currency and currency != home else {}
