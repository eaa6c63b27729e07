"""What an admin types on the niches page, read by the domain's one helper for it:
a price like ``$45`` or ``$1,200.50`` (Decimal, two places, never float), a slug
suggested from the niche's name; and the rule behind a niche's "cannot sell" warning."""

from __future__ import annotations

from decimal import Decimal

import pytest

from hotlead_app.domain.errors import InvalidInput
from hotlead_app.domain.money import parse_typed_money
from hotlead_app.domain.text import MAX_SLUG_LENGTH, suggest_slug
from hotlead_app.services.reads.niches import unsold_warning


@pytest.mark.parametrize(
    ("typed", "amount"),
    [
        ("$45", "45.00"),
        ("$1,200.50", "1200.50"),
        ("45", "45.00"),
        (" $ 12.5 ", "12.50"),
        ("1200", "1200.00"),
        ("$1,234,567.89", "1234567.89"),
        ("0.99", "0.99"),
        ("$45.00", "45.00"),  # what the level table shows comes back as it was
    ],
)
def test_a_typed_price_is_read_as_exact_money(typed, amount):
    parsed = parse_typed_money(typed, field="price_per_lead")
    assert isinstance(parsed, Decimal) and parsed == Decimal(amount) and parsed.as_tuple().exponent == -2


@pytest.mark.parametrize(
    "typed", ["", "   ", "45$", "1,20", "1,2000", "12.505", "-5", "$-5", "abc", "$", "4 5", "1.2.3", ",100", None, 45.0]
)
def test_anything_else_is_refused_naming_the_field(typed):
    with pytest.raises(InvalidInput) as caught:
        parse_typed_money(typed, field="price_per_lead")
    assert set(caught.value.details) == {"price_per_lead"}


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Roofing", "roofing"),
        ("Roofing & Gutters — NYC", "roofing-gutters-nyc"),
        ("Électricité générale", "electricite-generale"),
        ("  --Solar Panels!! ", "solar-panels"),
        ("HVAC 24/7", "hvac-24-7"),
        ("", ""),
        ("***", ""),
    ],
)
def test_a_slug_is_suggested_from_the_name(name, slug):
    assert suggest_slug(name) == slug


def test_a_suggested_slug_is_never_longer_than_a_slug_may_be_nor_ends_with_a_dash():
    slug = suggest_slug("a" * 63 + " b" * 10)
    assert len(slug) <= MAX_SLUG_LENGTH and not slug.endswith("-")


def test_only_an_open_niche_without_an_active_level_or_a_buyer_is_warned_about():
    assert unsold_warning(open_=False, active_levels=0, buyers=0) is None
    assert "no active level" in (unsold_warning(open_=True, active_levels=0, buyers=0) or "")
    assert "no active provider" in (unsold_warning(open_=True, active_levels=2, buyers=0) or "")
    assert unsold_warning(open_=True, active_levels=1, buyers=1) is None
