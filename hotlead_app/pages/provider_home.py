"""``/provider``: a provider's balance, status, latest leads and ledger."""

from __future__ import annotations

import reflex as rx

from hotlead_app import routes
from hotlead_app.components.layout import public_layout
from hotlead_app.domain import money
from hotlead_app.services import catalog, ledger, query
from hotlead_app.state.session import SessionState

STATUS_TEXT = {
    "active": "Active: you receive leads your subscriptions match.",
    "auto_deactivated": "Paused: your balance covers none of your subscriptions. Add funds to receive leads again.",
    "inactive": "Switched off by an admin. Contact support.",
}


class ProviderHomeState(SessionState):
    name: str = ""
    balance: str = ""
    status: str = ""
    status_text: str = ""
    leads: list[dict[str, str]] = []
    entries: list[dict[str, str]] = []
    loading: bool = True

    @rx.event
    def load(self):
        principal = self.principal()
        if principal is None or principal.role != "provider":
            return rx.redirect(routes.SIGN_IN)
        provider = catalog.get_provider(provider_id=principal.provider_id)
        self.name = provider.name
        self.balance = money.format_money(provider.balance)
        self.status = provider.status.value
        self.status_text = STATUS_TEXT.get(self.status, self.status)
        self.leads = [
            {"when": row["assigned_at"][:16].replace("T", " "), "niche": row["niche"], "email": row["email"],
             "phone": row["phone"] or "", "price": row["charged_amount"],
             "refunded": "refunded" if row["is_refunded"] else ""}
            for row in query.provider_leads(provider_id=principal.provider_id, limit=10)[:10]
        ]
        self.entries = [
            {"when": e.created_at.strftime("%Y-%m-%d %H:%M"), "type": e.type.value,
             "amount": money.format_money(e.amount), "balance_after": money.format_money(e.balance_after)}
            for e in ledger.list_entries(provider_id=principal.provider_id, limit=10)
        ]
        self.loading = False


def _table(headers: list[str], rows, cells) -> rx.Component:
    return rx.table.root(
        rx.table.header(rx.table.row(*[rx.table.column_header_cell(h) for h in headers])),
        rx.table.body(rx.foreach(rows, lambda r: rx.table.row(*[rx.table.cell(r[c]) for c in cells]))),
        width="100%",
        size="1",
    )


@rx.page(route=routes.PROVIDER_HOME, title="Your leads | Find Me A Hot Lead", on_load=ProviderHomeState.load)
def provider_home() -> rx.Component:
    s = ProviderHomeState
    return public_layout(
        rx.cond(
            s.loading,
            rx.center(rx.spinner(size="3"), padding="4em"),
            rx.vstack(
                rx.hstack(rx.heading(s.name, size="6"), rx.spacer(),
                          rx.button("Sign out", variant="ghost", on_click=s.sign_out), width="100%"),
                rx.card(
                    rx.vstack(
                        rx.text("Balance", size="2", color_scheme="gray"),
                        rx.heading(s.balance, size="8", id="provider-balance"),
                        rx.text(s.status_text, size="2", id="provider-status"),
                    ),
                    width="100%",
                ),
                rx.heading("Latest leads", size="4"),
                rx.cond(s.leads.length() > 0,
                        _table(["When", "Niche", "Email", "Phone", "Price", ""], s.leads,
                               ["when", "niche", "email", "phone", "price", "refunded"]),
                        rx.text("No leads yet: they appear here as soon as one matches your subscriptions.",
                                color_scheme="gray")),
                rx.heading("Ledger", size="4"),
                rx.cond(s.entries.length() > 0,
                        _table(["When", "Type", "Amount", "Balance after"], s.entries,
                               ["when", "type", "amount", "balance_after"]),
                        rx.text("No money has moved yet.", color_scheme="gray")),
                spacing="4",
                width="100%",
            ),
        )
    )
