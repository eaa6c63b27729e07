"""``/provider/returns``: the provider's return requests, newest first, with their
status (pending, approved, denied and why)."""

from __future__ import annotations

import reflex as rx

from hotlead_app import routes
from hotlead_app.components import format as fmt
from hotlead_app.components.backoffice import empty_state
from hotlead_app.components.page import provider_page
from hotlead_app.components.widgets import data_table, keyset_pager, loading_or
from hotlead_app.services.reads import return_requests
from hotlead_app.state.events import event
from hotlead_app.state.guards import ProviderPageState, guarded
from hotlead_app.state.paging import KeysetPages

PAGE_SIZE = 50
STATUS_TEXT = {"pending": "Waiting for an admin", "approved": "Approved: refunded", "denied": "Denied"}


class ProviderReturnsState(KeysetPages, ProviderPageState):
    rows: rx.Field[list[dict[str, str]]] = rx.field(default_factory=list)
    loading: rx.Field[bool] = rx.field(True)

    def _show_page(self, principal, start):
        rows = return_requests.provider_returns(principal.actor, limit=PAGE_SIZE, after=start)
        page = self._take_page(rows, PAGE_SIZE, lambda r: [r["created_at"], r["id"]])
        self.rows = [
            {
                "id": r["id"],
                "when": fmt.when(r["created_at"]),
                "lead_href": routes.provider_lead(r["lead_id"]),
                "niche": r["niche"],
                "price": fmt.money(r["charged_amount"]),
                "reason": r["reason_label"],
                "status": STATUS_TEXT.get(r["status"], r["status"]),
                "kind": r["status"],
                "why": r["deny_reason"] or "",
            }
            for r in page
        ]
        self.loading = False
        return None

    @event
    @guarded
    def load(self, principal):
        return self._first_page(principal)


S = ProviderReturnsState


def _row(r: dict) -> rx.Component:
    return rx.table.row(
        rx.table.cell(r["when"], white_space="nowrap"),
        rx.table.cell(rx.link("lead", href=r["lead_href"]), " ", r["niche"]),
        rx.table.cell(r["price"], text_align="right"),
        rx.table.cell(r["reason"]),
        rx.table.cell(r["status"], rx.text(r["why"], size="1", color_scheme="gray"), class_name="return-status"),
        id="return-" + r["id"],
        class_name="return-row " + r["kind"],
    )


@provider_page(route=routes.PROVIDER_RETURNS, title="Returns", on_load=S.load)
def provider_returns() -> rx.Component:
    headers = ["Asked", "Lead", "Price", "Reason", "Status"]
    return loading_or(
        S.loading,
        rx.cond(
            S.rows.length() > 0,
            rx.vstack(data_table(headers, S.rows, _row, id="returns-table"), keyset_pager(S), width="100%"),
            empty_state(
                "No returns yet. Open a lead to return it while its return window is open.", id="returns-empty"
            ),
        ),
    )
