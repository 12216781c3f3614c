"""Money: integer minor units to an exact Decimal and back, a decimal string in JSON with its
currency, documented as such in the OpenAPI schema; never a float."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import BaseModel

from paddock.app import create_app
from paddock.money import Amount, Currency, from_minor, to_minor
from paddock.settings import Settings
from paddock.web.rendering import _money


class Priced(BaseModel):
    price: Amount
    currency: Currency


@pytest.mark.parametrize("cents", [0, 1, 10, 20, 30, 99, 14900, 2**31 - 1, 2**53 + 1])
def test_minor_units_round_trip_exactly(cents: int) -> None:
    amount = from_minor(cents, "USD")
    assert to_minor(amount, "USD") == cents
    wire = Priced(price=amount, currency="USD").model_dump_json()
    assert to_minor(Decimal(Priced.model_validate_json(wire).price), "USD") == cents


def test_tenths_add_up_where_floats_do_not() -> None:
    assert 0.1 + 0.2 != 0.3  # why money is never a float
    assert from_minor(10, "USD") + from_minor(20, "USD") == from_minor(30, "USD")
    assert Priced(price=from_minor(30, "USD"), currency="USD").model_dump_json() == (
        '{"price":"0.30","currency":"USD"}'
    )
    # 2**53 + 1 cents survives; as a float (cents / 100) its last cent is lost.
    assert str(from_minor(2**53 + 1, "USD")) == "90071992547409.93"
    assert (2**53 + 1) / 100 * 100 != 2**53 + 1


def test_minor_digits_follow_the_currency() -> None:
    assert from_minor(14900, "USD") == Decimal("149.00") and str(from_minor(0, "USD")) == "0.00"
    assert str(from_minor(500, "JPY")) == "500" and str(from_minor(1500, "KWD")) == "1.500"
    assert to_minor(Decimal("149"), "USD") == 14900
    with pytest.raises(ValueError, match="finer"):
        to_minor(Decimal("0.001"), "USD")


def test_json_is_a_plain_decimal_string_and_the_currency_is_checked() -> None:
    assert Priced(price=Decimal("1E+2"), currency="USD").model_dump_json() == (
        '{"price":"100","currency":"USD"}'
    )
    assert isinstance(Priced(price=Decimal("1.5"), currency="USD").model_dump()["price"], Decimal)
    with pytest.raises(ValueError):
        Priced(price=Decimal(1), currency="usd")


def test_pages_show_the_amount_with_its_symbol() -> None:
    assert [_money(14900), _money(30), _money(123450), _money(500, "JPY")] == [
        "$149",
        "$0.30",
        "$1,234.50",
        "JPY 500",
    ]


def test_openapi_documents_prices_as_decimal_strings_with_a_currency(sqlite_url: str) -> None:
    app = create_app(Settings(database_url=sqlite_url, environment="test"), sweeper=False)
    schemas = app.openapi()["components"]["schemas"]
    for name in ("BookingRead", "ProductRead", "InvitationProductRead"):
        price = schemas[name]["properties"]["price"]
        currency = schemas[name]["properties"]["currency"]
        assert (price["type"], price["format"]) == ("string", "decimal"), name
        assert "currency" in price["description"]
        assert currency["type"] == "string" and currency["pattern"] == "^[A-Z]{3}$"
        assert "ISO 4217" in currency["description"]
        assert {"price", "currency"} <= set(schemas[name]["required"])
