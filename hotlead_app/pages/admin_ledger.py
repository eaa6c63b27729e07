"""``/admin/ledger``: every ledger entry of every provider, newest first, with the
memos admins wrote; filter by provider (id or email), entry type and days (UTC, from
and to both included); each entry links to what it was for (the lead of a charge or
refund, the deposit's history, or the provider); "Export CSV" downloads the filtered
entries (``GET /api/v1/admin/ledger.csv``).
``?provider=<id or email>&type=<type>&from=YYYY-MM-DD&to=YYYY-MM-DD`` opens it filtered."""

from __future__ import annotations

import uuid
from urllib.parse import urlencode

import reflex as rx

from hotlead_app import routes
from hotlead_app.components import format as fmt
from hotlead_app.components.backoffice import empty_state
from hotlead_app.components.page import admin_page
from hotlead_app.components.widgets import (
    NATIVE_SELECT_STYLE,
    data_table,
    download_button,
    filter_form,
    filter_input,
    labeled_field,
    labelled_cell,
    paged_list,
)
from hotlead_app.domain.errors import InvalidInput
from hotlead_app.domain.money import LedgerEntryType
from hotlead_app.services.reads import ledger_entries, providers
from hotlead_app.state.fields import ObjectField, object_field
from hotlead_app.state.guards import AdminPageState
from hotlead_app.state.paging import FilteredPages

PAGE_SIZE = 50
TYPES = [t.value for t in LedgerEntryType]
#: Entry types as admins read them.
TYPE_LABELS = {
    "deposit": "Deposit",
    "charge": "Charge for a lead",
    "refund": "Refund",
    "credit": "Credit",
    "debit": "Debit",
}
CSV_PATH = "/api/v1/admin/ledger.csv"


def related(entry: dict) -> tuple[str, str]:
    """What an entry was for, as a link: ``(text, href)`` (``("", "")`` for nothing)."""
    kind, ref = entry.get("related_entity_type"), entry.get("related_entity_id")
    if entry.get("lead_id"):
        return f"Lead {entry['lead_id'][:8]}", routes.admin_lead(entry["lead_id"])
    if kind == "deposit" and ref:
        return f"Deposit {ref[:8]}", f"{routes.ADMIN_AUDIT}?entity_type=deposit&entity_id={ref}"
    if kind == "adjustment":
        return "Adjustment", routes.admin_provider(entry["provider_id"])
    if kind and ref:
        return f"{kind.replace('_', ' ').capitalize()} {ref[:8]}", routes.admin_provider(entry["provider_id"])
    return "", ""


class LedgerState(FilteredPages, AdminPageState):
    items: rx.Field[list[dict[str, str]]] = rx.field(default_factory=list)
    loading: rx.Field[bool] = rx.field(True)
    provider: rx.Field[str] = rx.field("")
    type: rx.Field[str] = rx.field("")
    date_from: rx.Field[str] = rx.field("")
    date_to: rx.Field[str] = rx.field("")
    errors: ObjectField[dict[str, str]] = object_field(dict)
    # The CSV of the filters in force ("" while a filter is wrong).
    csv_href: rx.Field[str] = rx.field(CSV_PATH)
    _provider_id: str = ""

    def _show_page(self, principal, start: int | None) -> None:
        rows = ledger_entries.all_entries(
            principal.actor,
            limit=PAGE_SIZE,
            before_seq=start or None,
            provider_id=uuid.UUID(self._provider_id) if self._provider_id else None,
            type=self.type or None,
            date_from=self.date_from or None,
            date_to=self.date_to or None,
        )
        shown = self._take_page(rows, PAGE_SIZE, lambda e: e["seq"])
        self.items = [self._item(e) for e in shown]

    @staticmethod
    def _item(e) -> dict[str, str]:
        text, href = related(e)
        return {
            "id": e["id"],
            "when": fmt.when(e["created_at"]),
            "provider": e["provider_name"],
            "href": routes.admin_provider(e["provider_id"]),
            "type": TYPE_LABELS.get(e["type"], e["type"]),
            "amount": fmt.signed_money(e["signed_amount"]),
            "balance_after": fmt.money_or(e["balance_after"]),
            "memo": e["memo"] or "",
            "related": text,
            "related_href": href,
            "reversal": "reversal" if e["is_reversal"] else "",
        }

    def _filter_names(self) -> tuple[str, ...]:
        return ("provider", "type", "from", "to")

    def _apply(self, principal, values: dict[str, str]) -> None:
        """Resolve the filters (errors next to their field), then show the first page."""
        self.provider = values["provider"].strip()
        type_ = values["type"]
        self.type = type_ if type_ in TYPES else ""
        self.date_from, self.date_to = values["from"].strip(), values["to"].strip()
        errors: dict[str, str] = {}
        if type_ and type_ not in TYPES:
            errors["type"] = "choose a type from the list"
        try:
            ledger_entries.date_bounds(self.date_from, self.date_to)
        except InvalidInput as exc:
            errors.update({k: str(v) for k, v in exc.details.items()})
        self._provider_id = ""
        if self.provider:
            try:
                self._provider_id = str(providers.resolve_provider(principal.actor, text=self.provider))
            except InvalidInput as exc:
                errors.update({k: str(v) for k, v in exc.details.items()})
        self.errors = errors
        if errors:
            self.items = []
            self.csv_href = ""
            self._reset_pages()
            return
        query = {
            "provider_id": self._provider_id,
            "type": self.type,
            "from": self.date_from,
            "to": self.date_to,
        }
        self.csv_href = CSV_PATH + "".join(
            ["?" + urlencode({k: v for k, v in query.items() if v})] if any(query.values()) else []
        )
        self._first_page(principal)


S = LedgerState


def _date_input(name: str, label: str, value) -> rx.Component:
    return labeled_field(
        label,
        rx.input(
            type="date",
            name=name,
            id=f"ledger-{name}",
            default_value=value,
            key=value,
            width="100%",
            aria_invalid=rx.cond(S.errors.get(name, "") != "", "true", "false"),
        ),
        html_for=f"ledger-{name}",
        error=S.errors.get(name, ""),
        flex="1 1 9em",
        id=f"ledger-{name}-label",
    )


def _filters() -> rx.Component:
    return filter_form(
        filter_input(
            "provider",
            "Provider (id or email)",
            S.provider,
            prefix="ledger",
            errors=S.errors,
            hint="owner@acme.example",
            flex="1 1 16em",
        ),
        labeled_field(
            "Type",
            rx.el.select(
                rx.el.option("Any", value=""),
                *[rx.el.option(label, value=t) for t, label in TYPE_LABELS.items()],
                name="type",
                id="ledger-type",
                default_value=S.type,
                key=S.type,
                style=NATIVE_SELECT_STYLE,
            ),
            html_for="ledger-type",
            error=S.errors.get("type", ""),
            flex="1 1 10em",
        ),
        _date_input("from", "From (UTC)", S.date_from),
        _date_input("to", "To (UTC, included)", S.date_to),
        on_submit=S.filter,
        button_id="ledger-filter",
    )


def _row(item: dict) -> rx.Component:
    return rx.table.row(
        labelled_cell("When", item["when"], white_space="nowrap"),
        labelled_cell("Provider", rx.link(item["provider"], href=item["href"])),
        labelled_cell("Type", item["type"], rx.cond(item["reversal"] != "", rx.badge("reversal", color_scheme="red"))),
        labelled_cell("Amount", item["amount"], text_align="right", white_space="nowrap", class_name="ledger-amount"),
        labelled_cell("Balance after", item["balance_after"], text_align="right", white_space="nowrap"),
        labelled_cell("Memo", item["memo"], style={"overflow_wrap": "anywhere"}),
        labelled_cell(
            "For",
            rx.cond(
                item["related_href"] != "",
                rx.link(item["related"], href=item["related_href"], class_name="ledger-related"),
            ),
            white_space="nowrap",
        ),
        id="entry-" + item["id"],
        class_name="ledger-row",
    )


def _export() -> rx.Component:
    return rx.cond(
        S.csv_href != "",
        download_button("Export CSV", S.csv_href, "ledger.csv", "export-ledger"),
    )


@admin_page(route=routes.ADMIN_LEDGER, title="Ledger", on_load=LedgerState.load, actions=_export)
def admin_ledger() -> rx.Component:
    return rx.vstack(
        _filters(),
        paged_list(
            S,
            S.items,
            data_table(
                ("When", "Provider", "Type", "Amount", "Balance after", "Memo", "For"),
                S.items,
                _row,
                id="ledger-table",
                stack_on_phone=True,
            ),
            empty_state("No entry matches these filters.", id="ledger-empty"),
        ),
        spacing="4",
        width="100%",
    )
