"""``/provider/ledger``: every money movement of the provider, newest first, with the
balance after each; each row links to the lead it paid for (or refunded) or to the
deposit it came from.  A date filter (``?from=&to=`` opens it filtered; days in the
provider's time zone) with its CSV export, and the monthly statements (PDF and CSV)."""

from __future__ import annotations

from urllib.parse import urlencode

import reflex as rx

from hotlead_app import routes
from hotlead_app.components import format as fmt
from hotlead_app.components.backoffice import empty_state
from hotlead_app.components.page import provider_page
from hotlead_app.components.widgets import data_table, filter_form, filter_input, keyset_pager, loading_or
from hotlead_app.domain.errors import InvalidInput
from hotlead_app.services import catalog
from hotlead_app.services.reads import ledger_entries
from hotlead_app.services.reads import statements as statement_reads
from hotlead_app.state.events import event
from hotlead_app.state.fields import ObjectField, object_field
from hotlead_app.state.guards import ProviderPageState, guarded
from hotlead_app.state.paging import KeysetPages

PAGE_SIZE = 50
LEDGER_CSV = "/api/v1/provider/ledger.csv"
STATEMENTS = "/api/v1/provider/statements"
RECENT_MONTHS = 6  # statements shown before "Show all months"
WIDE_ONLY = ["none", "table-cell"]  # a column hidden under 30em (a phone)


class ProviderLedgerState(KeysetPages, ProviderPageState):
    rows: rx.Field[list[dict[str, str]]] = rx.field(default_factory=list)
    statements: rx.Field[list[dict[str, str]]] = rx.field(default_factory=list)
    balance: rx.Field[str] = rx.field("")
    loading: rx.Field[bool] = rx.field(True)
    since: rx.Field[str] = rx.field("")
    until: rx.Field[str] = rx.field("")
    errors: ObjectField[dict[str, str]] = object_field(dict)
    all_months: rx.Field[bool] = rx.field(False)

    @rx.var
    def shown_statements(self) -> list[dict[str, str]]:
        return self.statements if self.all_months else self.statements[:RECENT_MONTHS]

    @rx.var
    def more_months(self) -> int:
        return max(0, len(self.statements) - RECENT_MONTHS)

    @rx.var
    def csv_href(self) -> str:
        query = {k: v for k, v in (("from", self.since), ("to", self.until)) if v}
        return LEDGER_CSV + (f"?{urlencode(query)}" if query else "")

    @rx.var
    def has_errors(self) -> bool:
        return bool(self.errors)

    @rx.var
    def filtered(self) -> bool:
        return bool(self.since or self.until)

    def _show_page(self, principal, before: int | None):
        rows = ledger_entries.provider_ledger(
            principal.actor,
            limit=PAGE_SIZE,
            before_seq=before or None,
            since=self.since or None,
            until=self.until or None,
        )
        page = self._take_page(rows, PAGE_SIZE, lambda e: e["seq"])
        self.rows = [_row_view(e) for e in page]
        return None

    def _load_statements(self, principal) -> None:
        self.statements = [
            {
                "month": s.month.key,
                "label": s.month.label,
                "opening": fmt.money(s.opening),
                "closing": fmt.money(s.closing),
                "entries": str(s.entries),
                "to_date": "to date" if s.to_date else "",
                "pdf": f"{STATEMENTS}/{s.month.key}.pdf",
                "csv": f"{STATEMENTS}/{s.month.key}.csv",
            }
            for s in statement_reads.provider_statements(principal.actor)
        ]

    def _apply(self, principal, since: str, until: str) -> None:
        """Keep the date filter (errors next to their field) and show its first page."""
        self.since, self.until = since.strip(), until.strip()
        try:
            self._first_page(principal)
            self.errors = {}
        except InvalidInput as exc:
            self.errors = {k: str(v) for k, v in exc.details.items()}
            self.rows = []
            self._reset_pages()

    @event
    @guarded
    def load(self, principal):
        self.loading = True
        query = self.router.url.query_parameters
        self.balance = fmt.money(catalog.get_provider(principal.actor, provider_id=principal.provider_id).balance)
        self._load_statements(principal)
        self._apply(principal, str(query.get("from", "")), str(query.get("to", "")))
        self.loading = False

    @event
    @guarded
    def filter(self, principal, form_data: dict):
        self._apply(principal, str(form_data.get("from", "")), str(form_data.get("to", "")))

    @event
    @guarded
    def clear_filter(self, principal):
        self._apply(principal, "", "")

    @event
    def toggle_months(self):
        self.all_months = not self.all_months


def _row_view(e: ledger_entries.ProviderEntry) -> dict[str, str]:
    if e["lead_id"]:
        what = ("Refund of lead " if e["type"] == "refund" else "Lead ") + e["lead_id"][:8]
        href = routes.provider_lead(e["lead_id"])
    elif e["deposit_id"]:
        what = "Deposit" if e["type"] == "deposit" else "Deposit reversed"
        href = f"{routes.PROVIDER_FUNDS_RETURN}?deposit={e['deposit_id']}"
    else:
        what, href = ("Adjustment" if e["related_entity_type"] == "adjustment" else ""), ""
    when = fmt.when(e["created_at"])
    day, _, clock = when.partition(" ")
    return {
        "id": e["id"],
        "when": when,
        "day": day,
        "time": clock,
        "type": fmt.label(fmt.LEDGER_TYPE_TEXT, e["type"]),
        "kind": e["type"],
        "amount": fmt.signed_money(e["signed_amount"]),
        "balance_after": fmt.money(e["balance_after"]),
        "what": what,
        "href": href,
    }


S = ProviderLedgerState


def _wide_header(title: str) -> rx.Component:
    return rx.table.column_header_cell(title, display=WIDE_ONLY, text_align="right")


def _number_header(title: str) -> rx.Component:
    return rx.table.column_header_cell(title, text_align="right")


def _row(e: dict) -> rx.Component:
    """One entry: compact enough for 375 px (date over time, type over what it was for)."""
    return rx.table.row(
        rx.table.cell(
            rx.text(e["day"], white_space="nowrap"),
            rx.text(e["time"], size="1", color="var(--gray-11)"),
        ),
        rx.table.cell(
            rx.text(e["type"]),
            rx.cond(
                e["href"] != "",
                rx.link(e["what"], href=e["href"], class_name="entry-link", size="2", white_space="nowrap"),
                rx.text(e["what"], size="1", color="var(--gray-11)"),
            ),
        ),
        rx.table.cell(
            rx.text(e["amount"], color=rx.cond(e["amount"].startswith("+"), "var(--green-11)", "inherit")),
            # On a phone the balance goes under the amount (its own column is hidden).
            rx.text(e["balance_after"], size="1", color="var(--gray-11)", display=["block", "none"]),
            text_align="right",
            white_space="nowrap",
        ),
        rx.table.cell(e["balance_after"], text_align="right", white_space="nowrap", display=WIDE_ONLY),
        id="entry-" + e["id"],
        class_name="ledger-row " + e["kind"],
    )


def _statement_row(s: dict) -> rx.Component:
    """One month: its name with the PDF and CSV links under it, then the balances."""
    return rx.table.row(
        rx.table.cell(
            rx.hstack(
                rx.text(s["label"], weight="medium", white_space="nowrap"),
                rx.cond(s["to_date"] != "", rx.badge("to date", color_scheme="amber", variant="soft")),
                spacing="2",
                align="center",
            ),
            rx.hstack(
                rx.link(
                    "PDF",
                    href=s["pdf"],
                    download="statement-" + s["month"] + ".pdf",
                    reload_document=True,
                    id="statement-pdf-" + s["month"],
                    aria_label="Statement " + s["label"] + " as PDF",
                    size="2",
                ),
                rx.link(
                    "CSV",
                    href=s["csv"],
                    download="statement-" + s["month"] + ".csv",
                    reload_document=True,
                    id="statement-csv-" + s["month"],
                    aria_label="Statement " + s["label"] + " as CSV",
                    size="2",
                ),
                spacing="3",
            ),
        ),
        rx.table.cell(s["opening"], text_align="right", white_space="nowrap", display=WIDE_ONLY),
        rx.table.cell(s["closing"], text_align="right", white_space="nowrap"),
        id="statement-" + s["month"],
        class_name="statement-row",
    )


def _statements() -> rx.Component:
    return rx.vstack(
        rx.heading("Monthly statements", size="4", as_="h2"),
        rx.text(
            "Each month runs from the 1st 00:00 to the next 1st in your time zone; "
            "the closing balance is the next month's opening balance.",
            size="2",
            color="var(--gray-11)",
        ),
        rx.cond(
            S.statements.length() > 0,
            rx.vstack(
                data_table(
                    ["Month", _wide_header("Opening"), _number_header("Closing")],
                    S.shown_statements,
                    _statement_row,
                    id="statements",
                ),
                rx.cond(
                    S.more_months > 0,
                    rx.button(
                        rx.cond(
                            S.all_months,
                            "Show recent months only",
                            "Show all " + S.statements.length().to_string() + " months",
                        ),
                        variant="ghost",
                        on_click=S.toggle_months,
                        id="statements-all",
                    ),
                ),
                width="100%",
                spacing="2",
            ),
            empty_state("Your first statement appears with your first deposit.", id="statements-empty"),
        ),
        width="100%",
        spacing="2",
    )


def _filters() -> rx.Component:
    return rx.vstack(
        filter_form(
            filter_input("from", "From", S.since, prefix="ledger", errors=S.errors, type="date", flex="0 1 11em"),
            filter_input("to", "To", S.until, prefix="ledger", errors=S.errors, type="date", flex="0 1 11em"),
            on_submit=S.filter,
            button_id="ledger-filter",
        ),
        rx.hstack(
            rx.cond(
                ~S.has_errors,
                rx.link(
                    rx.button("Export CSV", variant="soft", id="export-ledger"),
                    href=S.csv_href,
                    download="ledger.csv",
                    reload_document=True,
                    underline="none",
                ),
            ),
            rx.cond(
                S.filtered, rx.button("Show all dates", variant="ghost", on_click=S.clear_filter, id="ledger-clear")
            ),
            spacing="3",
            align="center",
        ),
        width="100%",
        spacing="2",
    )


@provider_page(route=routes.PROVIDER_LEDGER, title="Ledger", on_load=S.load)
def provider_ledger() -> rx.Component:
    headers: list[str | rx.Component] = ["When", "Entry", _number_header("Amount"), _wide_header("Balance")]
    return loading_or(
        S.loading,
        rx.vstack(
            rx.text("Balance now: ", rx.text.strong(S.balance, id="ledger-balance")),
            _statements(),
            rx.heading("Entries", size="4", as_="h2", margin_top="1em"),
            _filters(),
            rx.cond(
                S.rows.length() > 0,
                rx.vstack(data_table(headers, S.rows, _row, id="ledger-table"), keyset_pager(S), width="100%"),
                rx.cond(
                    S.filtered,
                    empty_state("No entry on these dates.", id="ledger-empty"),
                    empty_state("No money has moved yet.", id="ledger-empty"),
                ),
            ),
            width="100%",
            spacing="4",
        ),
    )
