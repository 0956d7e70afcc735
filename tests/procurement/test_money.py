"""The rounding rule, example by example, then as properties over random documents."""

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from procurement.money import DiscountTooLarge, LineInput, document_totals, spread, to_cents

D = Decimal


def test_given_a_line_with_a_percent_discount_then_its_net_is_rounded_half_up_to_the_cent():
    totals = document_totals([LineInput(D("3"), D("3.335"), "percent", D("10"))])
    # 3 × 3.335 = 10.005; less 10 % = 9.0045 → 9.00
    assert totals.lines[0].net == D("9.00")
    assert totals.total == D("9.00")


def test_given_half_a_cent_then_it_rounds_away_from_zero():
    assert to_cents(D("0.005")) == D("0.01")
    assert to_cents(D("2.675")) == D("2.68")


def test_given_a_document_discount_then_it_is_spread_so_lines_add_up_to_the_total():
    lines = [LineInput(D("1"), D("10.00")), LineInput(D("1"), D("10.00")), LineInput(D("1"), D("10.00"))]
    totals = document_totals(lines, "amount", D("10.00"))
    shares = [lt.document_discount_share for lt in totals.lines]
    assert shares == [D("3.34"), D("3.33"), D("3.33")]
    assert sum(lt.net_after_document_discount for lt in totals.lines) == totals.total == D("20.00")


def test_given_a_percent_document_discount_then_the_discount_is_rounded_once_on_the_subtotal():
    totals = document_totals([LineInput(D("1"), D("33.33")), LineInput(D("2"), D("0.01"))], "percent", D("15"))
    assert totals.subtotal == D("33.35")
    assert totals.discount_total == D("5.00")  # 5.0025 → 5.00
    assert totals.total == D("28.35")


def test_given_tax_then_it_is_computed_on_the_net_after_the_document_discount():
    totals = document_totals([LineInput(D("1"), D("100"), tax_rate=D("20"))], "amount", D("10"))
    assert totals.lines[0].tax == D("18.00")
    assert totals.total == D("108.00")


def test_given_a_line_discount_larger_than_the_line_then_it_is_refused():
    with pytest.raises(DiscountTooLarge):
        document_totals([LineInput(D("1"), D("5"), "amount", D("5.01"))])


def test_given_a_document_discount_larger_than_the_subtotal_then_it_is_refused():
    with pytest.raises(DiscountTooLarge):
        document_totals([LineInput(D("1"), D("5"))], "amount", D("6"))


def test_given_a_full_discount_then_the_total_is_zero_not_negative():
    totals = document_totals([LineInput(D("2"), D("5"), "percent", D("100"))], "percent", D("100"))
    assert totals.total == D("0.00")


def test_spread_never_gives_a_line_more_than_its_weight():
    assert spread(D("0.03"), [D("0.01"), D("0.01"), D("0.01")]) == [D("0.01")] * 3


quantities = st.decimals(min_value=D("0.0001"), max_value=D("10000"), places=4)
prices = st.decimals(min_value=D("0"), max_value=D("100000"), places=4)
percents = st.decimals(min_value=D("0"), max_value=D("100"), places=2)


@st.composite
def lines_strategy(draw):
    quantity, price = draw(quantities), draw(prices)
    kind = draw(st.sampled_from(["", "percent", "amount"]))
    if kind == "percent":
        value = draw(percents)
    elif kind == "amount":
        value = draw(st.decimals(min_value=D("0"), max_value=quantity * price, places=2))
    else:
        value = D("0")
    tax = draw(st.sampled_from([D("0"), D("5"), D("7.25"), D("20")]))
    return LineInput(quantity, price, kind, value, tax)


@st.composite
def documents(draw):
    lines = draw(st.lists(lines_strategy(), min_size=1, max_size=12))
    kind = draw(st.sampled_from(["", "percent", "amount"]))
    if kind == "percent":
        return lines, kind, draw(percents)
    if kind == "amount":
        subtotal = document_totals(lines).subtotal
        return lines, kind, draw(st.decimals(min_value=D("0"), max_value=subtotal, places=2))
    return lines, "", D("0")


@settings(max_examples=400, deadline=None)
@given(documents())
def test_property_lines_add_up_to_the_total_to_the_cent_and_nothing_is_negative(doc):
    lines, discount_type, discount_value = doc
    totals = document_totals(lines, discount_type, discount_value)
    after = [lt.net_after_document_discount for lt in totals.lines]
    assert sum(after) + totals.tax_total == totals.total
    assert sum(lt.document_discount_share for lt in totals.lines) == totals.discount_total
    assert all(amount >= 0 for amount in after)
    assert all(lt.tax >= 0 and lt.net >= 0 and lt.document_discount_share >= 0 for lt in totals.lines)
    assert totals.total >= 0
    for amount in [totals.total, totals.subtotal, totals.discount_total, *after]:
        assert amount == amount.quantize(D("0.01"))
