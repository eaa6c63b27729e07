"""The audit log's changes as people read them, and the keyboard list's script."""

from __future__ import annotations

from decimal import Decimal

import pytest

from hotlead_app.components import format as fmt
from hotlead_app.components.keyboard import KeyAction, list_keys
from hotlead_app.pages.admin_audit import change_lines, field_label, shown_value


def test_only_changed_fields_are_listed_with_labels_and_money_as_money():
    before = {"id": "x", "name": "Solo", "price_per_lead": "12.50", "active": True, "spend_caps": {}}
    after = {"id": "x", "name": "Premium", "price_per_lead": "15.00", "active": False, "spend_caps": {"day": "40"}}
    assert change_lines(before, after) == [
        {"label": "Name", "old": "Solo", "new": "Premium"},
        {"label": "Price per lead", "old": fmt.money(Decimal("12.50")), "new": fmt.money(Decimal("15.00"))},
        {"label": "Active", "old": "yes", "new": "no"},
        {"label": "Spend caps", "old": "—", "new": "day: 40"},
    ]


def test_a_new_row_lists_its_values_and_a_removed_one_what_it_held():
    assert change_lines(None, {"slug": "roofs", "note": None}) == [{"label": "Slug", "old": "—", "new": "roofs"}]
    assert change_lines({"balance": "5"}, None) == [{"label": "Balance", "old": fmt.money(Decimal("5")), "new": "—"}]
    assert change_lines(None, None) == []
    # The same value written differently (12.5 and "12.50") is no change.
    assert change_lines({"amount": "12.5"}, {"amount": "12.50"}) == []


def test_values_read_as_words():
    assert field_label("auto_approve_returns_below_percent") == "Auto-approve returns below (%)"
    assert field_label("last_received_at") == "Last received at"
    assert shown_value("updated_at", "2026-01-31T14:05:09.123+00:00") == "2026-01-31 14:05:09 UTC"
    assert shown_value("fields", [{"name": "zip"}]) == '[{"name": "zip"}]'
    assert shown_value("amount", "not money") == "not money"
    assert shown_value("amount", 12.5) == "12.5"  # never stored so; shown as is, not refused


def test_a_list_registers_its_keys_and_j_k_stay_reserved():
    script = list_keys("/admin/returns", {"a": KeyAction(click=".approve", removes=True)})
    assert '"/admin/returns"' in script and '".approve"' in script and '"removes": true' in script
    for bad in ("j", "k", "ab", ""):
        with pytest.raises(ValueError):
            list_keys("/x", {bad: KeyAction(click=".b")})
