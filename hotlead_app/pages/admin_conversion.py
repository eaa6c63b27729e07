"""``/admin/conversion``: won ÷ assignments and the won value by niche, level, partner
or UTM source over a date range (DOMAIN.md "Outcomes"), as a table and a bar chart."""

from __future__ import annotations

import reflex as rx

from hotlead_app import routes
from hotlead_app.components import format as fmt
from hotlead_app.components.backoffice import empty_state
from hotlead_app.components.page import admin_page
from hotlead_app.components.widgets import data_table, labeled_field, loading_or
from hotlead_app.domain.errors import DomainError
from hotlead_app.services.reads import conversion
from hotlead_app.state.events import event
from hotlead_app.state.guards import AdminPageState, guarded

GROUPS = ["niche", "level", "partner", "utm_source"]
GROUP_LABELS = {"niche": "Niche", "level": "Level", "partner": "Partner", "utm_source": "UTM source"}


class ConversionState(AdminPageState):
    rows: rx.Field[list[dict[str, str]]] = rx.field(default_factory=list)
    chart: rx.Field[list[dict]] = rx.field(default_factory=list)
    loading: rx.Field[bool] = rx.field(True)
    by: rx.Field[str] = rx.field("niche")
    start: rx.Field[str] = rx.field("")
    end: rx.Field[str] = rx.field("")
    error: rx.Field[str] = rx.field("")

    def _load(self, principal) -> None:
        self.error = ""
        try:
            report = conversion.conversion_report(
                principal.actor, by=self.by, from_=self.start or None, to=self.end or None
            )
        except DomainError as exc:
            self.error = exc.message
            self.loading = False
            return
        self.start, self.end = report["from_"], report["to"]
        self.rows = [
            {
                "label": r["label"],
                "assignments": str(r["assignments"]),
                "won": str(r["won"]),
                "conversion": f"{r['conversion_percent']:g} %",
                "won_value": fmt.money(r["won_value"]),
            }
            for r in report["rows"]
        ]
        self.chart = [{"label": r["label"], "conversion": r["conversion_percent"]} for r in report["rows"]]
        self.loading = False

    @event
    @guarded
    def load(self, principal):
        self.loading = True
        self._load(principal)

    @event
    def set_by(self, value: str):
        self.by = value if value in GROUPS else "niche"

    @event
    @guarded
    def apply(self, principal, form: dict):
        self.by = form.get("by") or self.by
        self.start, self.end = form.get("from", ""), form.get("to", "")
        self._load(principal)


S = ConversionState


def _row(r: dict) -> rx.Component:
    return rx.table.row(
        rx.table.cell(r["label"]),
        rx.table.cell(r["assignments"], text_align="right"),
        rx.table.cell(r["won"], text_align="right"),
        rx.table.cell(r["conversion"], text_align="right"),
        rx.table.cell(r["won_value"], text_align="right"),
        class_name="conversion-row",
    )


@admin_page(route=routes.ADMIN_CONVERSION, title="Conversion", on_load=S.load)
def admin_conversion() -> rx.Component:
    return rx.vstack(
        rx.form(
            rx.flex(
                labeled_field(
                    "Group by",
                    rx.select.root(
                        rx.select.trigger(id="conversion-by", width="100%"),
                        rx.select.content(*[rx.select.item(GROUP_LABELS[g], value=g) for g in GROUPS]),
                        name="by",
                        value=S.by,
                        on_change=S.set_by,
                    ),
                    html_for="conversion-by",
                    flex="0 1 12em",
                ),
                labeled_field(
                    "From",
                    rx.input(name="from", type="date", default_value=S.start, key=S.start, id="conversion-from"),
                    html_for="conversion-from",
                    flex="0 1 11em",
                ),
                labeled_field(
                    "To",
                    rx.input(name="to", type="date", default_value=S.end, key=S.end, id="conversion-to"),
                    html_for="conversion-to",
                    flex="0 1 11em",
                ),
                rx.button("Show", type="submit", id="conversion-show"),
                wrap="wrap",
                spacing="3",
                align="end",
            ),
            on_submit=S.apply,
            reset_on_submit=False,
            width="100%",
        ),
        rx.cond(S.error != "", rx.callout(S.error, color_scheme="red", id="conversion-error")),
        loading_or(
            S.loading,
            rx.cond(
                S.rows.length() > 0,
                rx.vstack(
                    rx.recharts.bar_chart(
                        rx.recharts.bar(data_key="conversion", fill="var(--accent-9)", name="Conversion %"),
                        rx.recharts.x_axis(data_key="label"),
                        rx.recharts.y_axis(),
                        rx.recharts.graphing_tooltip(),
                        data=S.chart,
                        height=260,
                        width="100%",
                    ),
                    data_table(
                        ["Group", "Assignments", "Won", "Conversion", "Won value"],
                        S.rows,
                        _row,
                        id="conversion-table",
                        label="Conversion by group",
                    ),
                    width="100%",
                ),
                empty_state("No leads were assigned in this range.", id="conversion-empty"),
            ),
        ),
        spacing="3",
        width="100%",
    )
