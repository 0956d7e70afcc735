"""Every QBO fault the emulator can answer, word for word, in one place.

Wording comes from the team reference qbo-api.md §8 and the published samples in
qbo-samples/ (fault-stale.json, fault-duplicate-name.json, fault-object-not-found.json).
Where Intuit publishes no wording, the closest documented text is used and the entry is
marked UNCONFIRMED, so a reader knows which strings to trust.

Services raise `QBOFault`; routes turn it into the envelope
`{"Fault":{"Error":[{"Message","Detail","code","element"}],"type":...},"time":...}`
(or into a batch item's `Fault`).
"""

from __future__ import annotations

from typing import Any

VALIDATION = "ValidationFault"
SYSTEM = "SystemFault"
AUTHENTICATION = "AuthenticationFault"


class QBOFault(Exception):
    """A QBO fault: HTTP status, fault type, and one error (code is a string, as QBO sends it)."""

    def __init__(
        self, code: str, message: str, detail: str, *, element: str = "", status: int = 400,
        fault_type: str = VALIDATION,
    ) -> None:
        super().__init__(f"{code} {message}: {detail}")
        self.code = code
        self.message = message
        self.detail = detail
        self.element = element
        self.status = status
        self.fault_type = fault_type

    def fault(self) -> dict[str, Any]:
        """The inner `Fault` object (what a batch item carries)."""
        return {
            "Error": [{"Message": self.message, "Detail": self.detail, "code": self.code,
                       "element": self.element}],
            "type": self.fault_type,
        }


# --- authentication / throttling -------------------------------------------------------------

def authentication_failed(reason: str = "Token expired") -> QBOFault:
    # Code 3200 and the message string per qbo-api.md §8.2. The Detail text is UNCONFIRMED
    # (Intuit publishes no JSON 401 sample); clients must classify on HTTP 401 / code 3200.
    return QBOFault("3200", "message=AuthenticationFailed; errorCode=003200; statusCode=401",
                    f"{reason}: the access token is invalid, expired or revoked",
                    status=401, fault_type=AUTHENTICATION)


THROTTLE_MESSAGE = "message=ThrottleExceeded; errorCode=003001; statusCode=429"
THROTTLE_DETAIL = "The request limit was reached.  Try again later"  # two spaces, verbatim


def throttled() -> QBOFault:
    # Published only as XML with type="SERVICE" (qbo-api.md §7); the JSON form keeps that type.
    return QBOFault("3001", THROTTLE_MESSAGE, THROTTLE_DETAIL, status=429, fault_type="SERVICE")


def throttled_xml() -> str:
    """The throttle body exactly as QBO was observed to send it, XML even to JSON clients."""
    return ('<Fault type="SERVICE"><Error code="3001"><Message>' + THROTTLE_MESSAGE
            + "</Message><Detail>" + THROTTLE_DETAIL + "</Detail></Error></Fault>")


def system_failure(status: int = 500) -> QBOFault:
    # Code 10000 "An application error has occurred" (qbo-api.md §8.2); Detail wording UNCONFIRMED.
    return QBOFault("10000", "An application error has occurred while processing your request",
                    "System Failure Error: An unexpected error occurred while accessing or saving your "
                    "data. Please wait a few minutes and try again.",
                    status=status, fault_type=SYSTEM)


# --- validation ---------------------------------------------------------------------------

def object_not_found(element: str = "") -> QBOFault:
    # Verbatim from qbo-samples/fault-object-not-found.json (Intuit batch sample, bid2).
    return QBOFault("610", "Object Not Found",
                    "Object Not Found : Something you're trying to use has been made inactive. "
                    "Check the fields with accounts, customers, items, vendors or employees.",
                    element=element)


def stale_object() -> QBOFault:
    # Verbatim from qbo-samples/fault-stale.json.
    return QBOFault("5010", "Stale Object Error",
                    "Stale Object Error : You and root were working on this at the same time. "
                    "root finished before you did, so your work was not saved.")


def duplicate_name() -> QBOFault:
    # Verbatim from qbo-samples/fault-duplicate-name.json, including the embedded newline.
    return QBOFault("6240", "Duplicate Name Exists Error",
                    "The name supplied already exists. : Another customer, vendor or employee is "
                    "already using this \nname. Please use a different name.")


def required_param_missing(element: str) -> QBOFault:
    # Code 2020 "Required Param Missing" with `element` naming the field (qbo-api.md §8.2).
    # Message/Detail sentences are the ones integrators quote; UNCONFIRMED by an Intuit sample.
    return QBOFault("2020", "Required param missing, need to supply the required value for the API",
                    f"Required parameter {element} is missing in the request", element=element)


def invalid_reference(entity: str, ref_id: str, element: str = "") -> QBOFault:
    # Code 2500; Detail shape from the Fyle fixture "Invalid Reference Id : Accounts element id 7
    # not found" (qbo-api.md §8.2). The plural for entities other than Account is UNCONFIRMED.
    return QBOFault("2500", "Invalid Reference Id",
                    f"Invalid Reference Id : {entity}s element id {ref_id} not found", element=element)


def amount_mismatch(amount: Any) -> QBOFault:
    # Code 6070 and "Amount is not equal to Qty * UnitPrice" per qbo-api.md §1.2/§8.2.
    # The Detail sentence is UNCONFIRMED (no Intuit sample).
    return QBOFault("6070", "Amount is not equal to Qty * UnitPrice",
                    f"Amount is not equal to UnitPrice * Qty. Supplied value:{amount}", element="Line.Amount")


def duplicate_doc_number(doc_number: str, txn_type: str, txn_id: str) -> QBOFault:
    # Code 6140 per Intuit's current lists (qbo-api.md §2, §8.2; the 2017 blog's "6210" label is
    # the inconsistent one). Detail sentence UNCONFIRMED.
    return QBOFault("6140", "Duplicate Document Number Error",
                    "Duplicate Document Number Error : You must specify a different number. This number "
                    f"has already been used. DocNumber={doc_number} is assigned to TxnType={txn_type} "
                    f"with TxnId={txn_id}", element="DocNumber")


def account_period_closed() -> QBOFault:
    # qbo-api.md §8.4 lists three codes seen in the wild: 6210 (older Intuit "Handling common
    # errors" page, Workato, Fyle), 6200 (Intuit's error enum) and 5010 (one third-party report).
    # We answer 6210 with the "Account Period Closed, Cannot Update Through Services API" message and
    # the Detail integrators quote, because that is what integrators observe; clients should match
    # on the message ("account period" + "closed"), not on the code alone.
    return QBOFault("6210", "Account Period Closed, Cannot Update Through Services API",
                    "The account period has closed and the account books cannot be updated through the "
                    "QBO Services API. Please use the QBO website to make these changes.",
                    element="TxnDate")


def business_validation(detail: str, element: str = "") -> QBOFault:
    # Code 6000 "Business Validation Error" (generic; "Detail explains", qbo-api.md §8.2).
    # Used for over-payment, deleting a linked bill, etc. Each Detail below is UNCONFIRMED.
    return QBOFault("6000", "A business validation error has occurred while processing your request",
                    f"Business Validation Error: {detail}", element=element)


TAX_NAMES = {"GB": "VAT", "CA": "GST/HST"}


def missing_tax_code(country: str, element: str = "") -> QBOFault:
    # qbo-api.md §11a: non-US invoices without a tax code are refused with 6000 and "Business
    # Validation Error: Make sure all your transactions have a GST/HST rate before you save."
    # (Canada; "VAT" in the UK). The same refusal on Bill/PO/VendorCredit is UNCONFIRMED (assumed).
    return business_validation(
        f"Make sure all your transactions have a {TAX_NAMES.get(country, 'tax')} rate before you save.", element)


def multicurrency_off(what: str, currency: str) -> QBOFault:
    # Multicurrency must be on for anything in a foreign currency (qbo-api.md §11). Wording UNCONFIRMED.
    return business_validation(
        f"Multicurrency is not enabled for this company; a {what} in {currency} cannot be saved.", "CurrencyRef")


def currency_not_vendors(vendor_currency: str) -> QBOFault:
    # "CurrencyRef must equal the vendor's currency" (qbo-api.md §11). Wording UNCONFIRMED.
    return business_validation(
        f"The currency of the transaction must match the vendor's currency ({vendor_currency}).", "CurrencyRef")


def over_payment(txn_type: str, txn_id: str) -> QBOFault:
    # No published code for applying more than a bill's open balance: nearest documented is the
    # generic 6000 business validation error. UNCONFIRMED wording.
    return business_validation(
        f"The amount applied to {txn_type} {txn_id} is more than its open balance.", element="Line.Amount")


def linked_transaction(entity: str) -> QBOFault:
    # Intuit Bill reference: "You must unlink any linked transactions... before deleting it". UNCONFIRMED.
    return business_validation(
        f"This {entity} has linked transactions. You must unlink any linked transactions before "
        "deleting it.")


def invalid_enumeration(element: str, value: Any) -> QBOFault:
    # Code 2170 "Invalid Enumeration" (qbo-api.md §8.2); sentence UNCONFIRMED.
    return QBOFault("2170", "Invalid Enumeration", f"Invalid Enumeration : {value}", element=element)


def invalid_property(detail: str, element: str = "") -> QBOFault:
    # Code 2010 "request has invalid or unsupported property" (qbo-api.md §8.2).
    return QBOFault("2010", "Request has invalid or unsupported property", detail, element=element)


def unsupported_operation(detail: str) -> QBOFault:
    # Code 500 "Unsupported Operation" (qbo-api.md §8.2).
    return QBOFault("500", "Unsupported Operation", detail)


def query_parse_error(detail: str) -> QBOFault:
    # Codes 4000-4002 "query parse / invalid query" (qbo-api.md §8.2); sentence UNCONFIRMED.
    return QBOFault("4000", "Error parsing query", f"QueryParserError: {detail}")


def invalid_query(detail: str) -> QBOFault:
    return QBOFault("4001", "Invalid query", detail)


def unsupported_attachable_ref(entity_type: str) -> QBOFault:
    # Error 6050 "entity reference type XXX is unsupported for Attachable" (qbo-api.md §10).
    return QBOFault("6050", "Business Validation Error",
                    f"entity reference type {entity_type} is unsupported for Attachable")


def file_too_large() -> QBOFault:
    # Error 6030 (qbo-api.md §10).
    return QBOFault("6030", "Business Validation Error", "The file upload request should not exceed 100MB")


def string_too_long(element: str, limit: int) -> QBOFault:
    # Code 2050 "String length invalid" (qbo-api.md §8.2); sentence UNCONFIRMED.
    return QBOFault("2050", "String length is either shorter or longer than supported by specification",
                    f"String length specified does not match the supported length. Min:0 Max:{limit}",
                    element=element)


def batch_too_large(limit: int) -> QBOFault:
    # "Recommended maximum number of payloads in a single batch request is 30" (qbo-api.md §6).
    # The fault for exceeding it is UNCONFIRMED.
    return QBOFault("6000", "A business validation error has occurred while processing your request",
                    f"Business Validation Error: The batch request contains more than {limit} items.")


# --- OAuth (RFC 6749 error bodies, as Intuit's token endpoint answers) -----------------------

def oauth_error(error: str, description: str | None = None) -> dict[str, str]:
    body = {"error": error}
    if description:
        body["error_description"] = description
    return body
