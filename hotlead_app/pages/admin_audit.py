"""``/admin/audit``: the audit log newest first with admin memos; filter by entity
type (a select of labels), entity id and who acted (a role, a user id or a login's
email).  ``?entity_type=&entity_id=&by=`` opens it filtered.

Each event's changes are a list of "Field: old → new" lines (labels, money as money),
shown on demand; what is expanded is remembered by event id and forgotten when the
filters change (so no other event shows up expanded in its place)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import reflex as rx

from hotlead_app import routes
from hotlead_app.components import format as fmt
from hotlead_app.components.backoffice import empty_state
from hotlead_app.components.page import admin_page
from hotlead_app.components.widgets import (
    NATIVE_SELECT_STYLE,
    data_table,
    filter_form,
    filter_input,
    labeled_field,
    labelled_cell,
    paged_list,
)
from hotlead_app.domain.errors import DomainError, InvalidInput
from hotlead_app.services.reads import audit_trail
from hotlead_app.state.events import event
from hotlead_app.state.fields import ObjectField, object_field
from hotlead_app.state.guards import AdminPageState
from hotlead_app.state.paging import FilteredPages

PAGE_SIZE = 50
#: The entity types admins filter on, as they read them.
ENTITY_TYPE_LABELS = {
    "lead": "Lead",
    "lead_assignment": "Lead sold to a provider",
    "niche": "Niche",
    "competition_level": "Competition level",
    "provider": "Provider",
    "subscription": "Subscription",
    "user": "Login",
    "api_key": "API key",
    "deposit": "Deposit",
    "payment": "Payment",
    "return_request": "Return request",
    "webhook_endpoint": "Webhook endpoint",
    "reconciliation_issue": "Reconciliation issue",
}
ENTITY_TYPES = list(ENTITY_TYPE_LABELS)

#: Fields whose label is not just the key in words.
FIELD_LABELS = {
    "price_per_lead": "Price per lead",
    "max_providers": "Providers per lead",
    "priority_order": "Priority",
    "competition_level_id": "Competition level",
    "niche_id": "Niche",
    "provider_id": "Provider",
    "lead_id": "Lead",
    "user_id": "Login",
    "spend_caps": "Spend caps",
    "return_window_hours": "Return window (hours)",
    "max_return_rate_percent": "Return rate cap (%)",
    "auto_approve_returns_below_percent": "Auto-approve returns below (%)",
    "duplicate_window_days": "Duplicate window (days)",
    "utm_params": "UTM",
    "referrer_url": "Referrer",
    "payload": "Answers",
    "url": "URL",
    "ip": "IP",
}
#: Fields that hold an amount of money (shown with ``fmt.money``).
MONEY_FIELDS = frozenset(
    {
        "amount",
        "balance",
        "balance_after",
        "charged_amount",
        "price_per_lead",
        "reversed_amount",
        "expected_amount",
        "actual_amount",
        "total",
        "value",
        "won_value",
    }
)
NOTHING = "—"


def field_label(key: str) -> str:
    """``"price_per_lead"`` -> ``"Price per lead"``; a known key has its own label."""
    if key in FIELD_LABELS:
        return FIELD_LABELS[key]
    words = key.replace("_", " ").strip()
    return words[:1].upper() + words[1:] if words else key


def shown_value(key: str, value: Any) -> str:
    """One value of an audit row as people read it: money as money, yes / no, dates to
    the second, a mapping as ``key: value`` pairs, nothing as a dash."""
    if value is None or value == "" or value == {} or value == []:
        return NOTHING
    if isinstance(value, bool):
        return "yes" if value else "no"
    if key in MONEY_FIELDS or key.endswith("_amount"):
        try:
            return fmt.money(value)
        except (DomainError, ValueError, ArithmeticError, TypeError):
            return str(value)
    if key.endswith("_at") and isinstance(value, str):
        return fmt.when(value, seconds=True) + " UTC"
    if isinstance(value, Mapping) and all(not isinstance(v, Mapping | list) for v in value.values()):
        return fmt.pairs({k: "yes" if v is True else "no" if v is False else v for k, v in value.items()}) or NOTHING
    if isinstance(value, Mapping | list):
        return json.dumps(value, sort_keys=True, default=str)
    return str(value)


def change_lines(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> list[dict[str, str]]:
    """What an audit row changed, one ``{"label", "old", "new"}`` per field that differs
    (fields in the row's order); a new row lists its values (old: a dash), a removed
    one what it held (new: a dash)."""
    before, after = before or {}, after or {}
    keys = list(before) + [k for k in after if k not in before]
    return [
        {"label": field_label(k), "old": shown_value(k, before.get(k)), "new": shown_value(k, after.get(k))}
        for k in keys
        if before.get(k) != after.get(k) and shown_value(k, before.get(k)) != shown_value(k, after.get(k))
    ]


def _entity_href(entity_type: str, entity_id: str) -> str:
    if entity_type == "provider":
        return routes.admin_provider(entity_id)
    if entity_type == "lead":
        return routes.admin_lead(entity_id)
    return f"{routes.ADMIN_AUDIT}?entity_type={entity_type}&entity_id={entity_id}"


class AuditState(FilteredPages, AdminPageState):
    # Each item's "changes" is a list of {"label", "old", "new"}; the rest are strings.
    items: rx.Field[list[dict[str, Any]]] = rx.field(default_factory=list)
    # The events whose changes are shown, by id (cleared when the filters change).
    expanded: rx.Field[list[str]] = rx.field(default_factory=list)
    loading: rx.Field[bool] = rx.field(True)
    entity_type: rx.Field[str] = rx.field("")
    entity_id: rx.Field[str] = rx.field("")
    by: rx.Field[str] = rx.field("")
    errors: ObjectField[dict[str, str]] = object_field(dict)

    def _show_page(self, principal, start: int | None) -> None:
        rows = audit_trail.audit_trail(
            principal.actor,
            entity_type=self.entity_type or None,
            entity_id=self.entity_id or None,
            by=self.by or None,
            limit=PAGE_SIZE,
            before_seq=start or None,
        )
        shown = self._take_page(rows, PAGE_SIZE, lambda a: a["seq"])
        self.items = [self._item(a) for a in shown]

    @staticmethod
    def _item(a: Mapping[str, Any]) -> dict[str, Any]:
        changes = change_lines(a["before"], a["after"])
        return {
            "id": a["id"],
            "when": fmt.when(a["created_at"], seconds=True),
            "entity_type": a["entity_type"],
            "entity_label": ENTITY_TYPE_LABELS.get(a["entity_type"], a["entity_type"]),
            "entity_id": a["entity_id"],
            "short_id": a["entity_id"][:8],
            "href": _entity_href(a["entity_type"], a["entity_id"]),
            "action": a["action"],
            "actor": a["actor_role"] + (f" · {a['actor_email']}" if a["actor_email"] else ""),
            "memo": a["admin_only_memo"] or "",
            "changes": changes,
            "change_count": str(len(changes)),
        }

    def _filter_names(self) -> tuple[str, ...]:
        return ("entity_type", "entity_id", "by")

    @event
    def toggle(self, event_id: str):
        if event_id in self.expanded:
            self.expanded = [e for e in self.expanded if e != event_id]
        else:
            self.expanded = [*self.expanded, event_id]

    def _apply(self, principal, values: dict[str, str]) -> None:
        self.expanded = []
        entity_type = values["entity_type"].strip()
        self.entity_type = entity_type if entity_type in ENTITY_TYPE_LABELS else ""
        self.entity_id = values["entity_id"].strip()
        self.by = values["by"].strip()
        try:
            if entity_type and entity_type not in ENTITY_TYPE_LABELS:
                raise InvalidInput("Unknown entity type.", details={"entity_type": "choose a type from the list"})
            self._first_page(principal)
        except InvalidInput as exc:
            self.errors = {k: str(v) for k, v in exc.details.items()}
            self.items = []
            self._reset_pages()
            return
        self.errors = {}


S = AuditState


def _filter_input(name: str, label: str, value, hint: str, **props) -> rx.Component:
    return filter_input(name, label, value, prefix="audit", errors=S.errors, hint=hint, **props)


def _filters() -> rx.Component:
    return filter_form(
        labeled_field(
            "Entity type",
            rx.el.select(
                rx.el.option("Any", value=""),
                *[rx.el.option(label, value=key) for key, label in ENTITY_TYPE_LABELS.items()],
                name="entity_type",
                id="audit-entity_type",
                default_value=S.entity_type,
                key=S.entity_type,
                style=NATIVE_SELECT_STYLE,
            ),
            html_for="audit-entity_type",
            error=S.errors.get("entity_type", ""),
        ),
        _filter_input("entity_id", "Entity id", S.entity_id, "3f2b…"),
        _filter_input("by", "By (role, user id or email)", S.by, "admin"),
        on_submit=S.filter,
        button_id="audit-filter",
    )


def _change(change) -> rx.Component:
    return rx.el.li(
        rx.text.strong(change["label"] + ": "),
        rx.text(change["old"], as_="span", class_name="audit-old", color_scheme="gray"),
        " → ",
        rx.text(change["new"], as_="span", class_name="audit-new"),
        class_name="audit-change",
        style={"overflow_wrap": "anywhere"},
    )


def _changes(item) -> rx.Component:
    open_ = S.expanded.contains(item["id"])
    count = item["change_count"].to(str)
    return rx.cond(
        count != "0",
        rx.vstack(
            rx.button(
                rx.cond(open_, "Hide changes", "Show " + count + rx.cond(count == "1", " change", " changes")),
                size="1",
                variant="ghost",
                on_click=S.toggle(item["id"].to(str)),
                class_name="audit-toggle",
                aria_expanded=rx.cond(open_, "true", "false"),
            ),
            rx.cond(
                open_,
                rx.el.ul(
                    rx.foreach(item["changes"].to(list[dict[str, str]]), _change),
                    class_name="audit-changes",
                    style={"font_size": "0.8em", "margin": 0, "padding_left": "1.1em", "max_width": "32em"},
                ),
            ),
            spacing="1",
            align="start",
        ),
    )


def _row(item) -> rx.Component:
    return rx.table.row(
        labelled_cell("When", item["when"], white_space="nowrap"),
        labelled_cell(
            "Entity",
            rx.text(item["entity_label"], size="1", color_scheme="gray"),
            rx.link(item["short_id"], href=item["href"], title=item["entity_id"]),
        ),
        labelled_cell("Action", item["action"]),
        labelled_cell("By", item["actor"], style={"overflow_wrap": "anywhere"}),
        labelled_cell("Memo", item["memo"], class_name="audit-memo"),
        labelled_cell("Changes", _changes(item)),
        id="audit-" + item["id"].to(str),
        class_name="audit-row",
    )


@admin_page(route=routes.ADMIN_AUDIT, title="Audit log", on_load=AuditState.load)
def admin_audit() -> rx.Component:
    return rx.vstack(
        _filters(),
        paged_list(
            S,
            S.items,
            data_table(
                ("When", "Entity", "Action", "By", "Memo", "Changes"),
                S.items,
                _row,
                id="audit-table",
                stack_on_phone=True,
            ),
            empty_state("No audit row matches these filters.", id="audit-empty"),
        ),
        spacing="4",
        width="100%",
    )
