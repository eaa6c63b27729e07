"""``/provider/ledger``: every money movement of the provider, newest first, with the
balance after each; pages and a CSV export."""

from __future__ import annotations

import reflex as rx

from hotlead_app import routes
from hotlead_app.components import format as fmt
from hotlead_app.components.backoffice import empty_state
from hotlead_app.components.page import provider_page
from hotlead_app.components.widgets import data_table, download_button, keyset_pager, loading_or
from hotlead_app.services import catalog
from hotlead_app.services.reads import ledger_entries
from hotlead_app.state.events import event
from hotlead_app.state.guards import ProviderPageState, guarded
from hotlead_app.state.paging import KeysetPages

PAGE_SIZE = 50
LEDGER_CSV = "/api/v1/provider/ledger.csv"


class ProviderLedgerState(KeysetPages, ProviderPageState):
    rows: rx.Field[list[dict[str, str]]] = rx.field(default_factory=list)
    balance: rx.Field[str] = rx.field("")
    loading: rx.Field[bool] = rx.field(True)

    def _show_page(self, principal, before: int | None):
        provider_id = principal.provider_id
        self.balance = fmt.money(catalog.get_provider(principal.actor, provider_id=provider_id).balance)
        rows = ledger_entries.provider_ledger(principal.actor, limit=PAGE_SIZE, before_seq=before or None)
        page = self._take_page(rows, PAGE_SIZE, lambda e: e["seq"])
        self.rows = [
            {
                "id": e["id"],
                "when": fmt.when(e["created_at"]),
                "type": fmt.label(fmt.LEDGER_TYPE_TEXT, e["type"]),
                "kind": e["type"],
                "amount": fmt.signed_money(e["signed_amount"]),
                "balance_after": fmt.money(e["balance_after"]),
                "lead": e["related_entity_id"] if e["related_entity_type"] == "lead" else "",
            }
            for e in page
        ]
        self.loading = False
        return None

    @event
    @guarded
    def load(self, principal):
        return self._first_page(principal)


S = ProviderLedgerState


def _row(e: dict) -> rx.Component:
    return rx.table.row(
        rx.table.cell(e["when"], white_space="nowrap"),
        rx.table.cell(e["type"]),
        rx.table.cell(
            e["amount"], color=rx.cond(e["amount"].startswith("+"), "var(--green-11)", "inherit"), text_align="right"
        ),
        rx.table.cell(e["balance_after"], text_align="right"),
        rx.table.cell(rx.cond(e["lead"] != "", rx.link("lead", href="/provider/leads/" + e["lead"]))),
        id="entry-" + e["id"],
        class_name="ledger-row " + e["kind"],
    )


@provider_page(
    route=routes.PROVIDER_LEDGER,
    title="Ledger",
    on_load=S.load,
    actions=lambda: download_button("Export CSV", LEDGER_CSV, "ledger.csv", "export-ledger"),
)
def provider_ledger() -> rx.Component:
    headers = ["When", "Type", "Amount", "Balance after", ""]
    return loading_or(
        S.loading,
        rx.vstack(
            rx.text("Balance now: ", rx.text.strong(S.balance, id="ledger-balance")),
            rx.cond(
                S.rows.length() > 0,
                rx.vstack(data_table(headers, S.rows, _row), keyset_pager(S), width="100%"),
                empty_state("No money has moved yet.", id="ledger-empty"),
            ),
            width="100%",
        ),
    )
