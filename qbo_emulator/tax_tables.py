"""The tax editions a sandbox company can be created in: US, GB (VAT) and CA (GST/HST/PST).

US companies keep the TAX/NON pseudo codes and QBO ignores purchase tax (qbo-api.md §1.7).
Outside the US QBO computes purchase tax itself from read-only `TaxCode` and `TaxRate` lists
(§11a): a code names separate sales and purchase rates, e.g. UK "20.0% S" has the sales rate
SS-20.0 and the purchase rate SP-20.0. The other rate names, descriptions, agencies and
`SpecialTaxType` values below follow that pattern but are ours (UNCONFIRMED: no Intuit sample).

Ids are fixed per edition (TaxRate and TaxCode are separate Id spaces, as in QBO), so tests and
demos can name them; the company's Id counter starts after them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from . import faults
from .models import Company, Obj


class Ledger(Protocol):
    """What seeding needs of `services.Ledger` (a protocol, so this module imports no ledger)."""

    company: Company

    def create(self, entity: str, body: Obj, *, allow_duplicate_docnum: bool = False,
               obj_id: str | None = None) -> Obj: ...

COUNTRIES = ("US", "GB", "CA")
HOME_CURRENCY = {"US": "USD", "GB": "GBP", "CA": "CAD"}
# CompanyInfo.Country and CompanyAddr per edition (Intuit's CompanyInfo sample uses "US").
ADDRESSES: dict[str, Obj] = {
    "US": {"Line1": "123 Sierra Way", "City": "San Pablo", "CountrySubDivisionCode": "CA",
           "PostalCode": "87999", "Country": "US"},
    "GB": {"Line1": "1 Sandbox Lane", "City": "London", "PostalCode": "EC1A 1BB", "Country": "GB"},
    "CA": {"Line1": "100 Sandbox Street", "City": "Toronto", "CountrySubDivisionCode": "ON",
           "PostalCode": "M5V 2T6", "Country": "CA"},
}


@dataclass(frozen=True)
class Rate:
    id: str
    name: str
    description: str
    value: int  # percent, as QBO's RateValue number
    agency: tuple[str, str]
    special: str = "NONE"


@dataclass(frozen=True)
class Code:
    id: str
    name: str
    description: str
    sales: tuple[str, ...]  # TaxRate Ids, in TaxOrder
    purchase: tuple[str, ...]
    taxable: bool = True


HMRC = ("1", "HM Revenue & Customs")
CRA = ("1", "Canada Revenue Agency")
BC = ("2", "Minister of Finance (BC)")

RATES: dict[str, tuple[Rate, ...]] = {
    "GB": (
        Rate("1", "SS-20.0", "Standard rate sales", 20, HMRC),
        Rate("2", "SP-20.0", "Standard rate purchases", 20, HMRC),
        Rate("3", "RS-5.0", "Reduced rate sales", 5, HMRC),
        Rate("4", "RP-5.0", "Reduced rate purchases", 5, HMRC),
        Rate("5", "ZS-0.0", "Zero rate sales", 0, HMRC, "ZERO_RATE"),
        Rate("6", "ZP-0.0", "Zero rate purchases", 0, HMRC, "ZERO_RATE"),
        Rate("7", "ES-0.0", "Exempt sales", 0, HMRC, "EXEMPT"),
        Rate("8", "EP-0.0", "Exempt purchases", 0, HMRC, "EXEMPT"),
    ),
    "CA": (
        Rate("1", "GST (sales)", "GST on sales", 5, CRA),
        Rate("2", "GST (purchases)", "GST on purchases", 5, CRA),
        Rate("3", "HST ON (sales)", "HST Ontario on sales", 13, CRA),
        Rate("4", "HST ON (purchases)", "HST Ontario on purchases", 13, CRA),
        Rate("5", "PST BC (sales)", "PST British Columbia on sales", 7, BC),
        Rate("6", "PST BC (purchases)", "PST British Columbia on purchases", 7, BC),
        Rate("7", "Zero-rated (sales)", "Zero-rated sales", 0, CRA, "ZERO_RATE"),
        Rate("8", "Zero-rated (purchases)", "Zero-rated purchases", 0, CRA, "ZERO_RATE"),
        Rate("9", "Exempt (sales)", "Exempt sales", 0, CRA, "EXEMPT"),
        Rate("10", "Exempt (purchases)", "Exempt purchases", 0, CRA, "EXEMPT"),
    ),
}
CODES: dict[str, tuple[Code, ...]] = {
    "GB": (
        Code("1", "20.0% S", "Standard", ("1",), ("2",)),
        Code("2", "5.0% R", "Reduced", ("3",), ("4",)),
        Code("3", "0.0% Z", "Zero-rated", ("5",), ("6",)),
        Code("4", "Exempt", "Exempt", ("7",), ("8",), taxable=False),
        Code("5", "No VAT", "No VAT", (), (), taxable=False),  # no rates: lines carry no tax
    ),
    "CA": (
        Code("1", "HST ON", "HST Ontario", ("3",), ("4",)),
        Code("2", "GST", "GST", ("1",), ("2",)),
        # Two rates, both on the net amount (TaxOnAmount), TaxOrder 0 then 1.
        Code("3", "GST/PST BC", "GST and PST British Columbia", ("1", "5"), ("2", "6")),
        Code("4", "Zero-rated", "Zero-rated", ("7",), ("8",)),
        Code("5", "Exempt", "Exempt", ("9",), ("10",), taxable=False),
    ),
}
# The code the control API's "user enters a bill" and the bulk loader use when given none (QBO's
# UI pre-fills a default rate as well; which one is the company's choice).
DEFAULT_PURCHASE_CODE = {"GB": "20.0% S", "CA": "HST ON"}


def company_country(company: Company) -> str:
    """The edition from CompanyInfo.Country; older state files said "USA" for US companies."""
    country = str((company.get("CompanyInfo", "1") or {}).get("Country") or "US").upper()
    return country if country in COUNTRIES else "US"


def rate_details(company: Company, rate_ids: list[str], element: str) -> list[Obj]:
    """`TaxRateDetail` entries for a TaxCode's rate list, each rate on the net amount."""
    details = []
    for order, rate_id in enumerate(rate_ids):
        rate = company.get("TaxRate", rate_id)
        if rate is None:
            raise faults.invalid_reference("TaxRate", rate_id, element)
        details.append({"TaxRateRef": {"value": rate["Id"], "name": rate["Name"]},
                        "TaxTypeApplicable": "TaxOnAmount", "TaxOrder": order})
    return details


def rate_body(rate: Rate) -> Obj:
    return {"Name": rate.name, "Description": rate.description, "Active": True, "RateValue": rate.value,
            "AgencyRef": {"value": rate.agency[0], "name": rate.agency[1]},
            "SpecialTaxType": rate.special, "DisplayType": "ReadOnly"}


def code_body(company: Company, name: str, description: str, sales: list[str], purchase: list[str],
              *, taxable: bool = True) -> Obj:
    sales_list = rate_details(company, sales, "SalesTaxRateList")
    purchase_list = rate_details(company, purchase, "PurchaseTaxRateList")
    return {"Name": name, "Description": description, "Active": True, "Taxable": taxable,
            "TaxGroup": max(len(sales_list), len(purchase_list)) > 1,
            "SalesTaxRateList": {"TaxRateDetail": sales_list},
            "PurchaseTaxRateList": {"TaxRateDetail": purchase_list}}


def seed_tax_edition(ledger: Ledger, country: str) -> None:
    """The TaxRate and TaxCode lists a new company of this edition starts with."""
    company = ledger.company
    if country == "US":
        for pseudo, label in (("TAX", "Taxable"), ("NON", "Non-taxable")):
            # US companies use the TAX/NON pseudo codes on lines (qbo-api.md §1.7).
            ledger.create("TaxCode", {"Name": pseudo, "Description": label, "Taxable": pseudo == "TAX",
                                      "TaxGroup": False}, obj_id=pseudo)
        return
    for rate in RATES[country]:
        ledger.create("TaxRate", rate_body(rate), obj_id=rate.id)
    for code in CODES[country]:
        ledger.create("TaxCode", code_body(company, code.name, code.description, list(code.sales),
                                           list(code.purchase), taxable=code.taxable), obj_id=code.id)
    fixed = [int(r.id) for r in RATES[country]] + [int(c.id) for c in CODES[country]]
    company.next_id = max(company.next_id, max(fixed) + 1)  # new objects never reuse these Ids


def _ids(entry: Any, key: str) -> list[str]:
    details = ((entry.get(key) or {}).get("TaxRateDetail") or []) if isinstance(entry.get(key), dict) else []
    return [str((d.get("TaxRateRef") or {}).get("value", "")) for d in details if isinstance(d, dict)]


def add_tax_lists(ledger: Ledger, rates: list[Obj], codes: list[Obj]) -> dict[str, dict[str, str]]:
    """Rates and codes a QBO user adds in the UI (QBO outside the US allows custom rates and
    codes). Codes name their rates by Id in `SalesTaxRateList` / `PurchaseTaxRateList`."""
    created: dict[str, dict[str, str]] = {}
    for entry in rates:
        body = {"Active": True, "SpecialTaxType": "NONE", "DisplayType": "ReadOnly", **entry}
        obj = ledger.create("TaxRate", body, obj_id=ledger.company.new_id())
        created.setdefault("TaxRate", {})[obj["Name"]] = obj["Id"]
    for entry in codes:
        body = code_body(ledger.company, str(entry.get("Name", "")), str(entry.get("Description", "")),
                         _ids(entry, "SalesTaxRateList"), _ids(entry, "PurchaseTaxRateList"),
                         taxable=bool(entry.get("Taxable", True)))
        obj = ledger.create("TaxCode", body, obj_id=ledger.company.new_id())
        created.setdefault("TaxCode", {})[obj["Name"]] = obj["Id"]
    return created


def default_code_ref(company: Company, code_id: Any = None) -> Obj | None:
    """The TaxCodeRef a QBO user's line gets: the one chosen (`code_id`), else the edition's
    standard purchase code; None for a US company (QBO fills NON itself)."""
    if code_id:
        return {"value": str(code_id)}
    country = company_country(company)
    if country == "US":
        return None
    code = next((c for c in company.table("TaxCode").values() if c.get("Name") == DEFAULT_PURCHASE_CODE[country]),
                None)
    return {"value": code["Id"]} if code else None
