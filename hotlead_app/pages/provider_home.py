"""``/provider``: the provider dashboard's overview — balance, status and why, leads
received this week and month, and the spend per day of the last 30 days.

Every provider page's state derives from ``ProviderPageState`` (``state/guards.py``): it
resolves the signed-in provider (or the page redirects to sign-in); the services check
ownership themselves."""

from __future__ import annotations

from decimal import Decimal

import reflex as rx

from hotlead_app import routes
from hotlead_app.components import format as fmt
from hotlead_app.components.backoffice import empty_state
from hotlead_app.components.page import provider_page
from hotlead_app.components.widgets import data_table, loading_or
from hotlead_app.services.reads import account_summary, lead_inbox
from hotlead_app.state.events import event
from hotlead_app.state.guards import ProviderPageState, guarded


class ProviderHomeState(ProviderPageState):
    name: rx.Field[str] = rx.field("")
    balance: rx.Field[str] = rx.field("")
    status: rx.Field[str] = rx.field("")
    status_text: rx.Field[str] = rx.field("")
    needs_funds: rx.Field[bool] = rx.field(False)
    leads_week: rx.Field[int] = rx.field(0)
    leads_month: rx.Field[int] = rx.field(0)
    active_subscriptions: rx.Field[int] = rx.field(0)
    paused_subscriptions: rx.Field[int] = rx.field(0)
    spend_total: rx.Field[str] = rx.field("0.00")
    chart: rx.Field[list[dict]] = rx.field(default_factory=list)
    latest: rx.Field[list[dict[str, str]]] = rx.field(default_factory=list)
    loading: rx.Field[bool] = rx.field(True)

    @event
    @guarded
    def load(self, principal):
        data = account_summary.account_summary(principal.actor)
        self.name = data["name"]
        self.balance = data["balance"]
        self.status = data["status"]
        self.status_text = data["status_text"]
        self.needs_funds = data["needs_funds"]
        self.leads_week = data["leads_this_week"]
        self.leads_month = data["leads_this_month"]
        self.active_subscriptions = data["active_subscriptions"]
        self.paused_subscriptions = data["paused_subscriptions"]
        days = data["spend_per_day"]
        self.spend_total = fmt.money(sum((Decimal(d["spend"]) for d in days), Decimal("0.00")))
        # The chart only draws: the amounts stay Decimal strings everywhere else.
        self.chart = [{"day": d["day"][5:], "spend": float(d["spend"]), "label": d["spend"]} for d in days]
        self.latest = [
            {
                "lead_id": r["lead_id"],
                "when": fmt.when(r["assigned_at"]),
                "niche": r["niche"],
                "email": r["email"],
                "price": r["charged_amount"],
                "refunded": "refunded" if r["is_refunded"] else "",
            }
            for r in lead_inbox.lead_inbox(principal.actor, limit=5)[:5]
        ]
        self.loading = False


def stat_card(label: str, value, id: str, extra: rx.Component | None = None) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.text(label, size="2", color_scheme="gray"),
            rx.heading(value, size="7", id=id),
            extra or rx.fragment(),
            spacing="1",
        ),
        flex="1 1 10em",
        min_width="10em",
    )


@provider_page(route=routes.PROVIDER_HOME, title="Overview", on_load=ProviderHomeState.load)
def provider_home() -> rx.Component:
    s = ProviderHomeState
    return loading_or(
        s.loading,
        rx.vstack(
            rx.text(s.name, size="3", weight="medium", id="provider-name"),
            rx.callout(
                s.status_text,
                icon=rx.cond(s.status == "active", "circle_check", "triangle_alert"),
                color_scheme=rx.cond(s.status == "active", rx.cond(s.needs_funds, "amber", "green"), "red"),
                id="provider-status",
                width="100%",
            ),
            rx.flex(
                stat_card(
                    "Balance",
                    s.balance,
                    "provider-balance",
                    rx.link(
                        rx.button("Add funds", size="1", variant=rx.cond(s.needs_funds, "solid", "soft")),
                        href=routes.PROVIDER_FUNDS,
                        id="add-funds",
                    ),
                ),
                stat_card("Leads this week", s.leads_week.to_string(), "leads-week"),
                stat_card("Leads this month", s.leads_month.to_string(), "leads-month"),
                stat_card(
                    "Subscriptions",
                    s.active_subscriptions.to_string(),
                    "subs-active",
                    rx.cond(
                        s.paused_subscriptions > 0,
                        rx.text(s.paused_subscriptions.to_string() + " paused", size="1", color_scheme="amber"),
                    ),
                ),
                wrap="wrap",
                spacing="3",
                width="100%",
            ),
            rx.heading("Spend per day, last 30 days", size="4"),
            rx.text(
                "Charges minus refunds: ",
                s.spend_total,
                " in total.",
                size="2",
                color_scheme="gray",
                id="spend-total",
            ),
            rx.box(
                rx.recharts.bar_chart(
                    rx.recharts.bar(data_key="spend", fill="var(--accent-9)", name="Spend"),
                    rx.recharts.x_axis(data_key="day", interval="preserveStartEnd"),
                    rx.recharts.y_axis(width=48),
                    rx.recharts.graphing_tooltip(),
                    data=s.chart,
                    width="100%",
                    height=240,
                ),
                width="100%",
                id="spend-chart",
            ),
            rx.heading("Latest leads", size="4"),
            rx.cond(
                s.latest.length() > 0,
                data_table(
                    ("When", "Niche", "Email", "Price", ""),
                    s.latest,
                    lambda r: rx.table.row(
                        rx.table.cell(rx.link(r["when"], href="/provider/leads/" + r["lead_id"])),
                        rx.table.cell(r["niche"]),
                        rx.table.cell(r["email"]),
                        rx.table.cell(r["price"]),
                        rx.table.cell(r["refunded"]),
                    ),
                ),
                empty_state(
                    "No leads yet: they appear here as soon as one matches your subscriptions.", id="latest-empty"
                ),
            ),
            rx.hstack(
                rx.link("All your leads →", href=routes.PROVIDER_LEADS),
                rx.link("Why didn't I get a lead? →", href=routes.PROVIDER_MISSED),
                wrap="wrap",
                spacing="4",
            ),
            spacing="4",
            width="100%",
        ),
    )
