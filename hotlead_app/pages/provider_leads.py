"""``/provider/leads``: the leads a provider received, newest first, with contact
details, payload, price, level, how many providers received the same lead, the latest
outcome, the return's status (or a link to return it while its window is open); keyset
pages and a CSV export of all of them."""

from __future__ import annotations

from datetime import UTC, datetime

import reflex as rx

from hotlead_app import routes
from hotlead_app.components import format as fmt
from hotlead_app.components.backoffice import empty_state
from hotlead_app.components.page import provider_page
from hotlead_app.components.widgets import data_table, download_button, paged_list
from hotlead_app.services.reads import lead_inbox
from hotlead_app.state.events import event
from hotlead_app.state.guards import ProviderPageState, guarded
from hotlead_app.state.paging import KeysetPages

PAGE_SIZE = 25
LEADS_CSV = "/api/v1/provider/leads.csv"


def _now() -> datetime:
    return datetime.now(UTC)


def _payload_text(payload: dict) -> str:
    return ", ".join(f"{k}: {v}" for k, v in payload.items())


class ProviderLeadsState(KeysetPages, ProviderPageState):
    rows: rx.Field[list[dict[str, str]]] = rx.field(default_factory=list)
    loading: rx.Field[bool] = rx.field(True)

    def _show_page(self, principal, after: list[str] | None):
        rows = lead_inbox.lead_inbox(principal.actor, limit=PAGE_SIZE, after=after or None)
        page = self._take_page(rows, PAGE_SIZE, lambda r: [r["assigned_at"], r["id"]])
        self.rows = [
            {
                "lead_id": r["lead_id"],
                "when": fmt.when(r["assigned_at"]),
                "niche": r["niche"],
                "level": r["level"],
                "price": r["charged_amount"],
                "shared": str(r["shared_with"]),
                "name": r["name"],
                "email": r["email"],
                "phone": fmt.phone(r["phone"]),
                "payload": _payload_text(r["payload"]),
                "refunded": "refunded" if r["is_refunded"] else "",
                "outcome": r["latest_outcome"]["outcome"] if r["latest_outcome"] else "",
                "returned": f"return {r['return_request']['status']}" if r["return_request"] else "",
                "can_return": "yes"
                if not r["return_request"]
                and not r["is_refunded"]
                and datetime.fromisoformat(r["return_window_closes_at"]) > _now()
                else "",
            }
            for r in page
        ]
        self.loading = False
        return None

    @event
    @guarded
    def load(self, principal):
        return self._first_page(principal)


S = ProviderLeadsState


def _row(r: dict) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.link(r["when"], href="/provider/leads/" + r["lead_id"]), white_space="nowrap"),
        rx.table.cell(r["niche"]),
        rx.table.cell(r["level"]),
        rx.table.cell(
            r["price"],
            rx.cond(r["refunded"] != "", rx.badge("refunded", color_scheme="amber", ml="1")),
            rx.cond(r["returned"] != "", rx.badge(r["returned"], color_scheme="gray", ml="1")),
        ),
        rx.table.cell(r["shared"]),
        rx.table.cell(r["name"], class_name="lead-name"),
        rx.table.cell(r["email"]),
        rx.table.cell(r["phone"], white_space="nowrap", class_name="lead-phone"),
        rx.table.cell(r["payload"]),
        rx.table.cell(r["outcome"], class_name="lead-outcome"),
        rx.table.cell(
            rx.cond(
                r["can_return"] != "",
                rx.link("Return…", href="/provider/leads/" + r["lead_id"], class_name="lead-return"),
            )
        ),
        id="lead-" + r["lead_id"],
        class_name="lead-row",
    )


@provider_page(
    route=routes.PROVIDER_LEADS,
    title="Leads",
    on_load=S.load,
    actions=lambda: download_button("Export CSV", LEADS_CSV, "leads.csv", "export-leads"),
)
def provider_leads() -> rx.Component:
    headers = ["Received", "Niche", "Level", "Price", "Providers", "Name", "Email", "Phone", "Details", "Outcome", ""]
    return paged_list(
        S,
        S.rows,
        data_table(headers, S.rows, _row),
        empty_state("No leads yet: they appear here as soon as one matches your subscriptions.", id="leads-empty"),
    )
