"""Money, one convention from the database to the JSON, never a float.

The database holds an amount as integer minor units (`price_cents`) beside its ISO 4217
currency code; Python turns it into an exact `Decimal` with `from_minor` (and back with
`to_minor`); JSON answers carry it as a decimal string (`"149.00"`, the type `Amount`) next
to a `currency` field (the type `Currency`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import Field, PlainSerializer, WithJsonSchema

# ISO 4217 minor-unit digits where they differ from the usual two.
_DIGITS: dict[str, int] = {"JPY": 0, "KRW": 0, "ISK": 0, "BHD": 3, "KWD": 3, "OMR": 3}


def minor_digits(currency: str) -> int:
    """How many decimal places the currency's minor unit has (cents: 2)."""
    return _DIGITS.get(currency.upper(), 2)


def from_minor(units: int, currency: str) -> Decimal:
    """An exact amount from integer minor units: 14900 USD is Decimal("149.00")."""
    return Decimal(int(units)).scaleb(-minor_digits(currency))


def to_minor(amount: Decimal, currency: str) -> int:
    """Integer minor units of an amount; refuses one finer than the currency's minor unit."""
    units = amount.scaleb(minor_digits(currency))
    if units != units.to_integral_value():
        raise ValueError(f"{amount} {currency} is finer than the currency's minor unit")
    return int(units)


def _plain(amount: Decimal) -> str:
    return format(amount, "f")  # never an exponent ("1E+2")


# An amount in a JSON answer: a decimal string, exact, with the currency's minor digits.
Amount = Annotated[
    Decimal,
    PlainSerializer(_plain, return_type=str, when_used="json"),
    WithJsonSchema(
        {
            "type": "string",
            "format": "decimal",
            "pattern": r"^-?\d+(\.\d+)?$",
            "examples": ["149.00"],
        }
    ),
]

# The currency an amount is in.
Currency = Annotated[
    str,
    Field(
        pattern=r"^[A-Z]{3}$",
        description="ISO 4217 code of the amount's currency, e.g. USD",
        examples=["USD"],
    ),
]
