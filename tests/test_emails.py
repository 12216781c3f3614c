"""E-mail addresses: the cached fast path agrees with email-validator on every address."""

from __future__ import annotations

import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from paddock.emails import EmailAddress, normalize_email

ADDRESSES = [
    "ann@example.com",
    "Ann.Lee+drive@Example.COM",
    "o'brien@example.co.uk",
    "x@sub.example.museum",
    "user@bücher.example",
    "ünïcode@example.com",
    '"quoted local"@example.com',
    "double..dot@example.com",
    ".lead@example.com",
    "trail.@example.com",
    "no-at-sign.example.com",
    "two@@example.com",
    "a@b",
    "a@-bad-.com",
    "a@example..com",
    "a" * 65 + "@example.com",
    "a@" + "b" * 250 + ".com",
    "space in@example.com",
    "",
]


def expected(value: str) -> str | None:
    try:
        return str(validate_email(value, check_deliverability=False).normalized)
    except EmailNotValidError:
        return None


def normalized(value: str) -> str | None:
    try:
        return normalize_email(value)
    except ValueError:
        return None


@pytest.mark.parametrize("value", ADDRESSES)
def test_same_verdict_and_form_as_email_validator(value: str) -> None:
    assert normalized(value) == expected(value)


local_chars = st.sampled_from("abcXYZ019.+-_'!#$%&*/=?^`{|}~ @\"ü")
domains = st.sampled_from(["example.com", "Example.ORG", "bücher.example", "a.b", "x..y", "-x.com"])


@settings(max_examples=300)
@given(st.text(local_chars, min_size=0, max_size=70), domains)
def test_any_address_gets_email_validators_answer(local: str, domain: str) -> None:
    value = f"{local}@{domain}"
    assert normalized(value) == expected(value)


class Form(BaseModel):
    email: EmailAddress


def test_a_model_field_says_why_an_address_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        Form(email="two@@example.com")
    assert "value is not a valid email address" in str(caught.value)
    assert Form.model_json_schema()["properties"]["email"]["format"] == "email"
