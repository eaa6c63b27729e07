"""``/admin/ledger``: every ledger entry of every provider, newest first, with the
memos admins wrote; filter by provider (id or email) and by entry type.
``?provider=<id or email>&type=<type>`` opens it filtered."""

from __future__ import annotations

import reflex as rx

from hotlead_app import routes
from hotlead_app.components import format as fmt
from hotlead_app.components.backoffice import empty_state
from hotlead_app.components.page import admin_page
from hotlead_app.components.widgets import data_table, filter_form, filter_input, labeled_field, paged_list
from hotlead_app.domain.errors import InvalidInput
from hotlead_app.domain.money import LedgerEntryType
from hotlead_app.services.reads import ledger_entries, providers
from hotlead_app.state.fields import ObjectField, object_field
from hotlead_app.state.guards import AdminPageState
from hotlead_app.state.paging import FilteredPages

PAGE_SIZE = 50
TYPES = [t.value for t in LedgerEntryType]


class LedgerState(FilteredPages, AdminPageState):
    items: rx.Field[list[dict[str, str]]] = rx.field(default_factory=list)
    loading: rx.Field[bool] = rx.field(True)
    provider: rx.Field[str] = rx.field("")
    type: rx.Field[str] = rx.field("")
    errors: ObjectField[dict[str, str]] = object_field(dict)
    _provider_id: str = ""

    def _show_page(self, principal, start: int | None) -> None:
        import uuid

        rows = ledger_entries.all_entries(
            principal.actor,
            limit=PAGE_SIZE,
            before_seq=start or None,
            provider_id=uuid.UUID(self._provider_id) if self._provider_id else None,
            type=self.type or None,
        )
        shown = self._take_page(rows, PAGE_SIZE, lambda e: e["seq"])
        self.items = [
            {
                "id": e["id"],
                "when": fmt.when(e["created_at"]),
                "provider": e["provider_name"],
                "href": routes.admin_provider(e["provider_id"]),
                "type": e["type"],
                "amount": fmt.signed_money(e["signed_amount"]),
                "balance_after": fmt.money_or(e["balance_after"], ""),
                "memo": e["memo"] or "",
                "related": e["related_entity_type"] or "",
                "reversal": "reversal" if e["is_reversal"] else "",
            }
            for e in shown
        ]

    def _filter_names(self) -> tuple[str, ...]:
        return ("provider", "type")

    def _apply(self, principal, values: dict[str, str]) -> None:
        """Resolve the filters (errors next to their field), then show the first page."""
        self.provider = values["provider"].strip()
        type_ = values["type"]
        self.type = type_ if type_ in TYPES else ""
        errors: dict[str, str] = {}
        if type_ and type_ not in TYPES:
            errors["type"] = "one of " + ", ".join(TYPES)
        self._provider_id = ""
        if self.provider:
            try:
                self._provider_id = str(providers.resolve_provider(principal.actor, text=self.provider))
            except InvalidInput as exc:
                errors.update({k: str(v) for k, v in exc.details.items()})
        self.errors = errors
        if errors:
            self.items = []
            self._reset_pages()
            return
        self._first_page(principal)


S = LedgerState


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
                rx.el.option("any", value=""),
                *[rx.el.option(t, value=t) for t in TYPES],
                name="type",
                id="ledger-type",
                default_value=S.type,
                key=S.type,
                style={"width": "100%", "padding": "0.4em"},
            ),
            html_for="ledger-type",
            error=S.errors.get("type", ""),
            flex="0 1 10em",
        ),
        on_submit=S.filter,
        button_id="ledger-filter",
    )


def _row(item: dict) -> rx.Component:
    return rx.table.row(
        rx.table.cell(item["when"], white_space="nowrap"),
        rx.table.cell(rx.link(item["provider"], href=item["href"])),
        rx.table.cell(item["type"], rx.cond(item["reversal"] != "", rx.badge("reversal", color_scheme="red"))),
        rx.table.cell(item["amount"], text_align="right"),
        rx.table.cell(item["balance_after"], text_align="right"),
        rx.table.cell(item["memo"]),
        rx.table.cell(item["related"]),
        id="entry-" + item["id"],
    )


@admin_page(route=routes.ADMIN_LEDGER, title="Ledger", on_load=LedgerState.load)
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
            ),
            empty_state("No entry matches these filters.", id="ledger-empty"),
        ),
        spacing="4",
        width="100%",
    )
