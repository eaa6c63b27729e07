"""``/provider``: the provider dashboard's overview — balance, status and why, leads
received this week and month, and the spend per day of the last 30 days.

Every provider page's state derives from ``ProviderPageState`` (``state/guards.py``): it
resolves the signed-in provider (or the page redirects to sign-in); the services check
ownership themselves."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from zoneinfo import available_timezones

import reflex as rx

from hotlead_app import routes
from hotlead_app.components import format as fmt
from hotlead_app.components.backoffice import empty_state
from hotlead_app.components.layout import field_label
from hotlead_app.components.page import provider_page
from hotlead_app.components.widgets import data_table, loading_or, visually_hidden
from hotlead_app.domain.controls import PERIODS
from hotlead_app.domain.errors import DomainError
from hotlead_app.services import catalog, inbox
from hotlead_app.services.payments import recharge
from hotlead_app.services.reads import account_summary, lead_inbox, subscriptions
from hotlead_app.state.events import event
from hotlead_app.state.fields import ObjectField, object_field
from hotlead_app.state.guards import ProviderPageState, guarded

#: The zones most providers want, first; then every IANA zone.
COMMON_ZONES = (
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "America/Anchorage",
    "Pacific/Honolulu",
    "America/Puerto_Rico",
    "UTC",
)
ZONES = [*COMMON_ZONES, *sorted(z for z in available_timezones() if z not in COMMON_ZONES and "/" in z)]
PERIOD_WORD = {"day": "today", "week": "this week", "month": "this month"}


def cap_rows(subs: list) -> list[dict[str, Any]]:
    """One row per capped period of each subscription: "3 of 5 today" and its fill."""
    rows = []
    for sub in subs:
        for period in PERIODS:
            use = sub["cap_use"].get(period)
            if use is None:
                continue
            used, cap = use["used"], use["cap"]
            rows.append(
                {
                    "sub_id": sub["id"],
                    "label": f"{sub['niche']} · {sub['level']}",
                    "period": period,
                    "text": f"{used} of {cap} {PERIOD_WORD[period]}",
                    "percent": min(100, round(100 * used / cap)) if cap else 0,
                    "full": "1" if used >= cap else "",
                }
            )
    return rows


class ProviderHomeState(ProviderPageState):
    name: rx.Field[str] = rx.field("")
    balance: rx.Field[str] = rx.field("")
    status: rx.Field[str] = rx.field("")
    status_text: rx.Field[str] = rx.field("")
    needs_funds: rx.Field[bool] = rx.field(False)
    # "Auto-recharge adds $100.00 when your balance falls below $50.00" (or why it is off).
    recharge_text: rx.Field[str] = rx.field("")
    leads_week: rx.Field[int] = rx.field(0)
    leads_month: rx.Field[int] = rx.field(0)
    active_subscriptions: rx.Field[int] = rx.field(0)
    paused_subscriptions: rx.Field[int] = rx.field(0)
    spend_total: rx.Field[str] = rx.field("0.00")
    # DOMAIN.md "Outcomes": the last 30 days' leads, their cost against what they won.
    won_value: rx.Field[str] = rx.field("0.00")
    won_text: rx.Field[str] = rx.field("")
    chart: rx.Field[list[dict]] = rx.field(default_factory=list)
    latest: rx.Field[list[dict[str, str]]] = rx.field(default_factory=list)
    loading: rx.Field[bool] = rx.field(True)
    # each subscription's cap use ("3 of 5 today") and, if its schedule is closed now, when it opens
    caps: rx.Field[list[dict[str, Any]]] = rx.field(default_factory=list)
    windows: rx.Field[list[dict[str, str]]] = rx.field(default_factory=list)
    # settings: time zone and spend caps
    time_zone: rx.Field[str] = rx.field("")
    spend_caps: ObjectField[dict[str, str]] = object_field(dict)
    settings_errors: ObjectField[dict[str, str]] = object_field(dict)
    saving_settings: rx.Field[bool] = rx.field(False)

    def _load_settings(self, principal) -> None:
        provider = catalog.get_provider(principal.actor, provider_id=principal.actor.provider_id)
        self.time_zone = provider.time_zone
        self.spend_caps = {p: str(provider.spend_caps.get(p, "")) for p in PERIODS}
        self.settings_errors = {}

    @event
    def set_time_zone(self, value: str):
        self.time_zone = value
        self.settings_errors = {k: v for k, v in self.settings_errors.items() if k != "time_zone"}

    @event
    def set_spend_cap(self, period: str, value: str):
        self.spend_caps = {**self.spend_caps, period: value}
        self.settings_errors = {k: v for k, v in self.settings_errors.items() if k != f"spend_caps.{period}"}

    @event
    @guarded
    def save_settings(self, principal):
        values = {
            "time_zone": self.time_zone,
            "spend_caps": {p: v.strip() for p, v in self.spend_caps.items() if v.strip()},
        }
        self.saving_settings = True
        yield
        try:
            catalog.update_provider_settings(
                provider_id=principal.actor.provider_id, actor=principal.actor, values=values
            )
        except DomainError as exc:
            self.settings_errors = {str(k): str(v) for k, v in (exc.details or {}).items()}
            self.saving_settings = False
            yield rx.toast.error(exc.message)
            return
        self.saving_settings = False
        self._load_settings(principal)
        self._load_subscriptions(principal)
        yield rx.toast.success("Settings saved.")

    def _load_subscriptions(self, principal) -> None:
        subs = subscriptions.provider_subscriptions(principal.actor)
        self.caps = cap_rows([s for s in subs if s["active"]])
        self.windows = [
            {"label": f"{s['niche']} · {s['level']}", "when": fmt.when(s["next_open"]), "sub_id": s["id"]}
            for s in subs
            if s["active"] and s["next_open"]
        ]

    @event
    @guarded
    def load(self, principal):
        self._load_settings(principal)
        self._load_subscriptions(principal)
        data = account_summary.account_summary(principal.actor)
        self.name = data["name"]
        self.balance = fmt.money(data["balance"])
        self.status = data["status"]
        self.status_text = data["status_text"]
        self.needs_funds = data["needs_funds"]
        auto = recharge.get(actor=principal.actor)
        self.recharge_text = (
            f"Auto-recharge adds {fmt.money(auto.amount)} when your balance falls below {fmt.money(auto.threshold)}."
            if auto.enabled and auto.amount is not None and auto.threshold is not None
            else ("Auto-recharge was turned off after a failed charge." if auto.off_reason else "")
        )
        self.leads_week = data["leads_this_week"]
        self.leads_month = data["leads_this_month"]
        self.active_subscriptions = data["active_subscriptions"]
        self.paused_subscriptions = data["paused_subscriptions"]
        outcome = data["spend_vs_won"]
        self.won_value = fmt.money(outcome["won_value"])
        self.won_text = f"{outcome['won']} of {outcome['assignments']} leads won; they cost {fmt.money(outcome['spend'])} (refunds taken off)"
        days = data["spend_per_day"]
        self.spend_total = fmt.money(sum((Decimal(d["spend"]) for d in days), Decimal("0.00")))
        # The chart only draws: the amounts stay Decimal strings everywhere else.
        self.chart = [{"day": d["day"][5:], "spend": float(d["spend"]), "label": fmt.money(d["spend"])} for d in days]
        self.latest = [
            {
                "lead_id": r["lead_id"],
                "when": fmt.when(r["assigned_at"]),
                "niche": r["niche_name"],
                "email": r["email"],
                "price": fmt.money(r["charged_amount"]),
                "refunded": "refunded" if r["is_refunded"] else "",
            }
            for r in lead_inbox.lead_inbox(principal.actor, limit=5)[:5]
        ]
        self.loading = False


def stat_card(label: str, value, id: str, extra: rx.Component | None = None) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.text(label, size="2", color_scheme="gray"),
            rx.heading(value, size=rx.breakpoints(initial="6", sm="7"), id=id, style={"overflow_wrap": "anywhere"}),
            extra or rx.fragment(),
            spacing="1",
        ),
        flex="1 1 10em",
        min_width="10em",
    )


def _cap_bar(row: dict) -> rx.Component:
    return rx.box(
        rx.hstack(
            rx.text(row["label"], size="2", weight="medium"),
            rx.text(row["text"], size="2", class_name="cap-text"),
            justify="between",
            wrap="wrap",
            width="100%",
        ),
        rx.progress(
            value=row["percent"],
            max=100,
            color_scheme=rx.cond(row["full"] == "1", "red", "green"),
            width="100%",
        ),
        width="100%",
        class_name="cap-bar",
        custom_attrs={"data-period": row["period"], "data-sub": row["sub_id"]},
    )


def _money_input(period: str) -> rx.Component:
    s = ProviderHomeState
    error = s.settings_errors.get("spend_caps." + period, "")
    return rx.vstack(
        field_label("Per " + period, html_for="spend-cap-" + period),
        rx.input(
            value=s.spend_caps.get(period, ""),
            on_change=lambda v: s.set_spend_cap(period, v),
            placeholder="no cap",
            input_mode="decimal",
            width="9em",
            id="spend-cap-" + period,
        ),
        rx.cond(error != "", rx.text(error, color_scheme="red", size="1", role="alert", class_name="field-error")),
        spacing="1",
        id="spend-cap-field-" + period,
    )


def settings_section() -> rx.Component:
    s = ProviderHomeState
    zone_error = s.settings_errors.get("time_zone", "")
    return rx.card(
        rx.vstack(
            rx.heading("Settings", size="4"),
            rx.text(
                "Schedules and caps count days, weeks (from Monday) and months in your time zone.",
                size="2",
                color_scheme="gray",
            ),
            rx.vstack(
                field_label("Time zone", html_for="time-zone", weight="medium"),
                rx.el.select(
                    rx.foreach(ZONES, lambda z: rx.el.option(z, value=z)),
                    value=s.time_zone,
                    on_change=s.set_time_zone,
                    id="time-zone",
                    style={"padding": "0.4em", "max_width": "100%", "border_radius": "6px"},
                ),
                rx.cond(zone_error != "", rx.text(zone_error, color_scheme="red", size="1", role="alert")),
                spacing="1",
            ),
            rx.text("Spend caps (empty: no cap)", size="2", weight="medium"),
            rx.flex(*[_money_input(p) for p in PERIODS], wrap="wrap", spacing="3"),
            rx.button("Save settings", on_click=s.save_settings, loading=s.saving_settings, id="save-settings"),
            spacing="3",
            width="100%",
        ),
        width="100%",
        id="provider-settings",
    )


class NotificationsState(ProviderPageState):
    """How the provider hears about its leads, and its low-balance alert threshold."""

    lead_emails: rx.Field[str] = rx.field("instant")
    threshold: rx.Field[str] = rx.field("")
    errors: ObjectField[dict[str, str]] = object_field(dict)
    saving: rx.Field[bool] = rx.field(False)

    def _show(self, prefs: inbox.Preferences) -> None:
        self.lead_emails = prefs.lead_emails
        self.threshold = str(prefs.low_balance_threshold) if prefs.low_balance_threshold is not None else ""
        self.errors = {}

    @event
    @guarded
    def load(self, principal):
        self._show(inbox.get_preferences(provider_id=principal.actor.provider_id))

    @event
    def set_lead_emails(self, value: str):
        self.lead_emails = value
        self.errors = {k: v for k, v in self.errors.items() if k != "lead_emails"}

    @event
    def set_threshold(self, value: str):
        self.threshold = value
        self.errors = {k: v for k, v in self.errors.items() if k != "low_balance_threshold"}

    @event
    @guarded
    def save(self, principal):
        self.saving = True
        yield
        try:
            prefs = inbox.update_preferences(
                actor=principal.actor, lead_emails=self.lead_emails, low_balance_threshold=self.threshold
            )
        except DomainError as exc:
            self.errors = {str(k): str(v) for k, v in (exc.details or {}).items()}
            self.saving = False
            return
        self._show(prefs)
        self.saving = False
        yield rx.toast.success("Notification settings saved.")


LEAD_EMAIL_CHOICES = {
    "instant": "An email for each lead, as it arrives",
    "digest": "One email an hour listing the new leads",
}


def notifications_section() -> rx.Component:
    n = NotificationsState
    threshold_error = n.errors.get("low_balance_threshold", "")
    return rx.card(
        rx.vstack(
            rx.heading("Notifications", size="4"),
            rx.el.fieldset(
                rx.el.legend(rx.text("New lead emails", size="2", weight="medium")),
                rx.radio_group.root(
                    rx.vstack(
                        *[
                            rx.text(
                                rx.flex(
                                    rx.radio_group.item(value=value, id=f"lead-emails-{value}"),
                                    label,
                                    spacing="2",
                                    align="center",
                                ),
                                as_="label",
                                size="2",
                            )
                            for value, label in LEAD_EMAIL_CHOICES.items()
                        ],
                        spacing="2",
                    ),
                    value=n.lead_emails,
                    on_change=n.set_lead_emails,
                    name="lead_emails",
                ),
                style={"border": "none", "padding": "0", "margin": "0"},
            ),
            rx.vstack(
                rx.el.label(rx.text("Low-balance alert below", size="2", weight="medium"), html_for="low-balance"),
                rx.input(
                    value=n.threshold,
                    on_change=n.set_threshold,
                    placeholder="no alert",
                    input_mode="decimal",
                    width="9em",
                    id="low-balance",
                    custom_attrs={
                        "aria-describedby": "low-balance-help",
                        "aria-invalid": rx.cond(threshold_error != "", "true", "false"),
                    },
                ),
                rx.text(
                    "One email when your balance drops below this amount; another only after it has been back up.",
                    size="1",
                    color_scheme="gray",
                    id="low-balance-help",
                ),
                rx.cond(
                    threshold_error != "",
                    rx.text(threshold_error, color_scheme="red", size="1", role="alert", id="low-balance-error"),
                ),
                spacing="1",
            ),
            rx.button("Save notifications", on_click=n.save, loading=n.saving, id="save-notifications"),
            spacing="3",
            width="100%",
        ),
        width="100%",
        id="provider-notifications",
    )


@provider_page(route=routes.PROVIDER_HOME, title="Overview", on_load=[ProviderHomeState.load, NotificationsState.load])
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
            rx.cond(
                s.recharge_text != "",
                rx.link(rx.text(s.recharge_text, size="2", id="auto-recharge-line"), href=routes.PROVIDER_FUNDS),
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
                    "Won value, 30 days",
                    s.won_value,
                    "won-value",
                    rx.text(s.won_text, size="1", color_scheme="gray", id="won-text"),
                ),
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
            rx.cond(
                (s.caps.length() > 0) | (s.windows.length() > 0),
                rx.vstack(
                    rx.heading("Caps and schedules", size="4"),
                    rx.foreach(s.caps, _cap_bar),
                    rx.foreach(
                        s.windows,
                        lambda w: rx.text(
                            w["label"],
                            ": outside its schedule now, next window opens ",
                            w["when"],
                            " (your time).",
                            size="2",
                            class_name="next-window",
                        ),
                    ),
                    spacing="2",
                    width="100%",
                    id="cap-use",
                ),
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
                    ("When", "Niche", "Email", "Price", rx.table.column_header_cell(visually_hidden("Refund"))),
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
            settings_section(),
            notifications_section(),
            spacing="4",
            width="100%",
        ),
    )
