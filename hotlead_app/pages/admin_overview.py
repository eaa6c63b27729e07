"""``/admin``: the marketplace at a glance — leads per day by status, revenue per
day, providers by status and the approval backlog, as charts with the figures
beside them.  The figures come from ``services/reads/overview.py`` (also
``GET /api/v1/admin/reports/overview``)."""

from __future__ import annotations

from decimal import Decimal

import reflex as rx

from hotlead_app import routes
from hotlead_app.components import format as fmt
from hotlead_app.components.page import admin_page
from hotlead_app.components.widgets import loading_or
from hotlead_app.domain.errors import DomainError
from hotlead_app.services.reads import approval_queue, overview
from hotlead_app.state.events import event
from hotlead_app.state.guards import AdminPageState, guarded

PERIODS = ["7", "30", "90"]


def _plot(amount: Decimal) -> float:
    """A chart needs a JavaScript number; only the bar height uses it — every figure
    shown as text stays an exact Decimal string."""
    return float(amount)


class OverviewState(AdminPageState):
    loading: rx.Field[bool] = rx.field(True)
    error: rx.Field[str] = rx.field("")
    period: rx.Field[str] = rx.field("30")
    leads_series: rx.Field[list[dict[str, int | str]]] = rx.field(default_factory=list)
    revenue_series: rx.Field[list[dict[str, float | str]]] = rx.field(default_factory=list)
    providers_series: rx.Field[list[dict[str, int | str]]] = rx.field(default_factory=list)
    backlog_series: rx.Field[list[dict[str, int | str]]] = rx.field(default_factory=list)
    leads_total: rx.Field[int] = rx.field(0)
    revenue_total: rx.Field[str] = rx.field("0.00")
    charged_total: rx.Field[str] = rx.field("0.00")
    refunded_total: rx.Field[str] = rx.field("0.00")
    providers_total: rx.Field[int] = rx.field(0)
    backlog_count: rx.Field[int] = rx.field(0)
    oldest_waiting: rx.Field[str] = rx.field("")

    @event
    @guarded
    def load(self, principal):
        self.error = ""
        try:
            days = int(self.period)
            leads = overview.leads_per_day(principal.actor, days=days)
            revenue = overview.revenue_per_day(principal.actor, days=days)
            providers = overview.providers_by_status(principal.actor)
            queue = approval_queue.backlog(principal.actor)
            by_wait = approval_queue.backlog_by_wait(principal.actor)
        except DomainError as exc:
            self.error = exc.message
            self.loading = False
            return
        self.leads_series = [{**row, "day": row["day"][5:]} for row in leads]
        self.leads_total = sum(row["total"] for row in leads)
        self.revenue_series = [
            {
                "day": r["day"][5:],
                "charged": _plot(r["charged"]),
                "refunded": _plot(r["refunded"]),
                "net": _plot(r["net"]),
            }
            for r in revenue
        ]
        zero = Decimal("0.00")
        self.charged_total = fmt.money(sum((r["charged"] for r in revenue), zero))
        self.refunded_total = fmt.money(sum((r["refunded"] for r in revenue), zero))
        self.revenue_total = fmt.money(sum((r["net"] for r in revenue), zero))
        self.providers_series = [{"status": p["status"].replace("_", " "), "count": p["count"]} for p in providers]
        self.providers_total = sum(p["count"] for p in providers)
        self.backlog_series = by_wait
        self.backlog_count = queue.count
        self.oldest_waiting = fmt.when_utc(queue.oldest_confirmed_at)
        self.loading = False

    @event
    def set_period(self, value: str):
        if value in PERIODS:
            self.period = value
            self.loading = True
            return OverviewState.load


def _stat(label: str, value, id: str) -> rx.Component:
    return rx.card(
        rx.vstack(rx.text(label, size="2", color_scheme="gray"), rx.heading(value, size="6", id=id), spacing="1"),
        min_width="10em",
        flex="1",
    )


def _chart_card(title: str, chart: rx.Component, id: str, note=None) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading(title, size="4"),
            note or rx.fragment(),
            rx.box(chart, width="100%", height="260px"),
            spacing="2",
            width="100%",
        ),
        width="100%",
        id=id,
        class_name="chart-card",
    )


def _leads_chart() -> rx.Component:
    return rx.recharts.bar_chart(
        *[
            rx.recharts.bar(data_key=status, stack_id="leads", fill=color, name=status.replace("_", " "))
            for status, color in fmt.LEAD_STATUS_COLORS.items()
        ],
        rx.recharts.x_axis(data_key="day"),
        rx.recharts.y_axis(allow_decimals=False, width=40),
        rx.recharts.cartesian_grid(stroke_dasharray="3 3"),
        rx.recharts.graphing_tooltip(),
        rx.recharts.legend(),
        data=OverviewState.leads_series,
        width="100%",
        height=260,
    )


def _revenue_chart() -> rx.Component:
    return rx.recharts.composed_chart(
        rx.recharts.bar(data_key="charged", fill="var(--green-8)", name="charged"),
        rx.recharts.bar(data_key="refunded", fill="var(--red-8)", name="refunded"),
        rx.recharts.line(data_key="net", stroke="var(--gray-12)", name="net", dot=False, type_="monotone"),
        rx.recharts.x_axis(data_key="day"),
        rx.recharts.y_axis(width=50),
        rx.recharts.cartesian_grid(stroke_dasharray="3 3"),
        rx.recharts.graphing_tooltip(),
        rx.recharts.legend(),
        data=OverviewState.revenue_series,
        width="100%",
        height=260,
    )


def _simple_bar(data, x_key: str, color: str) -> rx.Component:
    return rx.recharts.bar_chart(
        rx.recharts.bar(data_key="count", fill=color, name="count"),
        rx.recharts.x_axis(data_key=x_key),
        rx.recharts.y_axis(allow_decimals=False, width=40),
        rx.recharts.cartesian_grid(stroke_dasharray="3 3"),
        rx.recharts.graphing_tooltip(),
        data=data,
        width="100%",
        height=260,
    )


def _content() -> rx.Component:
    s = OverviewState
    return rx.vstack(
        rx.flex(
            _stat("Approval backlog", s.backlog_count, "stat-backlog"),
            _stat("Leads in the period", s.leads_total, "stat-leads"),
            _stat("Net revenue in the period", s.revenue_total, "stat-revenue"),
            _stat("Providers", s.providers_total, "stat-providers"),
            wrap="wrap",
            spacing="3",
            width="100%",
        ),
        rx.grid(
            _chart_card("Leads per day by status", _leads_chart(), "chart-leads"),
            _chart_card(
                "Revenue per day",
                _revenue_chart(),
                "chart-revenue",
                rx.text(
                    "Charged ",
                    s.charged_total,
                    " − refunded ",
                    s.refunded_total,
                    " = net ",
                    s.revenue_total,
                    size="2",
                    color_scheme="gray",
                    id="revenue-figures",
                ),
            ),
            _chart_card(
                "Providers by status", _simple_bar(s.providers_series, "status", "var(--blue-9)"), "chart-providers"
            ),
            _chart_card(
                "Approval backlog by time waiting",
                _simple_bar(s.backlog_series, "wait", "var(--amber-9)"),
                "chart-backlog",
                rx.flex(
                    rx.text(s.backlog_count, " waiting", size="2"),
                    rx.cond(
                        s.oldest_waiting != "",
                        rx.text("· oldest confirmed ", s.oldest_waiting, size="2", color_scheme="gray"),
                    ),
                    rx.link("Open the queue →", href=routes.ADMIN_QUEUE, size="2"),
                    spacing="2",
                    wrap="wrap",
                ),
            ),
            columns=rx.breakpoints(initial="1", md="2"),
            spacing="3",
            width="100%",
        ),
        spacing="4",
        width="100%",
    )


@admin_page(
    route=routes.ADMIN_OVERVIEW,
    title="Overview",
    on_load=OverviewState.load,
    actions=lambda: rx.select.root(
        rx.select.trigger(id="overview-period", aria_label="Period"),
        rx.select.content(*[rx.select.item(f"Last {d} days", value=d) for d in PERIODS]),
        value=OverviewState.period,
        on_change=OverviewState.set_period,
    ),
)
def admin_overview() -> tuple[rx.Component, ...]:
    s = OverviewState
    return (
        rx.cond(s.error != "", rx.callout(s.error, color_scheme="red", icon="triangle_alert", width="100%")),
        loading_or(s.loading, _content()),
    )
