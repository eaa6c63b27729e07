"""``/admin/leads``: every lead, newest first, filtered by status, niche, email and
creation day; keyset pages; each row links to the lead's detail.

The filters live in the URL (``?status=approved&niche=roofing&email=&created_from=
&created_to=``, the API's names): a filtered list can be shared, the back button
returns to the previous filters, and opening the URL applies them.  Filtering
navigates to the new URL; the page's ``load`` (run on every URL change) reads it."""

from __future__ import annotations

from urllib.parse import urlencode

import reflex as rx

from hotlead_app import routes
from hotlead_app.components import format as fmt
from hotlead_app.components.backoffice import empty_state
from hotlead_app.components.layout import field_label
from hotlead_app.components.page import admin_page
from hotlead_app.components.widgets import data_table, keyset_pager, loading_or
from hotlead_app.domain.errors import DomainError
from hotlead_app.domain.leads import LeadStatus
from hotlead_app.services.reads import lead_search
from hotlead_app.services.reads import niches as niche_reads
from hotlead_app.state.events import event
from hotlead_app.state.fields import ObjectField, object_field
from hotlead_app.state.guards import AdminPageState, guarded
from hotlead_app.state.paging import KeysetPages

PAGE_SIZE = 50
ANY = "any"
#: The filters, by their names in the URL (and in ``GET /api/v1/admin/leads``).
FILTERS = ("status", "niche", "email", "created_from", "created_to")
STATUSES = [s.value for s in LeadStatus]


def filters_url(values: dict[str, str]) -> str:
    """The browser's URL for these filters (those left empty or "any" are omitted)."""
    query = urlencode([(k, values[k].strip()) for k in FILTERS if values.get(k, "").strip() not in ("", ANY)])
    return routes.ADMIN_LEADS + (f"?{query}" if query else "")


class LeadsState(KeysetPages, AdminPageState):
    rows: rx.Field[list[dict[str, str]]] = rx.field(default_factory=list)
    niches: rx.Field[list[list[str]]] = rx.field(default_factory=list)
    loading: rx.Field[bool] = rx.field(True)
    error: rx.Field[str] = rx.field("")
    field_errors: ObjectField[dict[str, str]] = object_field(dict)
    status: rx.Field[str] = rx.field(ANY)
    niche: rx.Field[str] = rx.field(ANY)
    email: rx.Field[str] = rx.field("")
    created_from: rx.Field[str] = rx.field("")
    created_to: rx.Field[str] = rx.field("")

    def _show_page(self, principal, start: list | None) -> None:
        self.error = ""
        self.field_errors = {}
        try:
            rows = lead_search.search_leads(
                principal.actor,
                status=None if self.status == ANY else self.status,
                niche=None if self.niche == ANY else self.niche,
                email=self.email or None,
                created_from=self.created_from or None,
                created_to=self.created_to or None,
                limit=PAGE_SIZE,
                after=start,
            )
        except DomainError as exc:
            self.error = exc.message
            self.field_errors = {k: str(v) for k, v in (exc.details or {}).items()}
            self.rows = []
            self._found_next(None)
            self.loading = False
            return
        rows = self._take_page(rows, PAGE_SIZE, lambda r: [r["created_at"], r["id"]])
        self.rows = [
            {
                "id": r["id"],
                "href": routes.admin_lead(r["id"]),
                "created": fmt.when(r["created_at"]),
                "status": fmt.status_word(fmt.LEAD_STATUS, r["status"]),
                "status_color": fmt.status_color(fmt.LEAD_STATUS, r["status"]),
                "niche": r["niche_name"] or r["niche"],
                "email": r["email"],
                "partner": r["partner_name"] or r["partner"],
            }
            for r in rows
        ]
        self.loading = False

    @event
    @guarded
    def load(self, principal):
        """Runs on every URL of the page: the filters come from the URL."""
        self.loading = True
        self.niches = [[n["slug"], n["name"]] for n in niche_reads.list_niches(principal.actor)]
        query = self.router.url.query_parameters
        values = {name: str(query.get(name, "")).strip() for name in FILTERS}
        self.status = values["status"] if values["status"] in STATUSES else ANY
        self.niche = values["niche"] or ANY
        self.email = values["email"]
        self.created_from = values["created_from"]
        self.created_to = values["created_to"]
        self._reset_pages()
        if values["status"] and values["status"] not in STATUSES:
            self.error = "Unknown status: choose one from the list."
            self.field_errors = {"status": values["status"]}
            self.rows = []
            self.loading = False
            return
        self._show_page(principal, None)

    @event
    def apply(self, form: dict):
        """Filter: go to the URL of the filters; ``load`` then shows the first page."""
        values = {
            "status": self.status,
            "niche": self.niche,
            "email": self.email,
            "created_from": self.created_from,
            "created_to": self.created_to,
        }
        return rx.redirect(filters_url(values))

    @event
    def clear(self):
        return rx.redirect(routes.ADMIN_LEADS)

    @event
    def set_status(self, value: str):
        self.status = value

    @event
    def set_niche(self, value: str):
        self.niche = value

    @event
    def set_email(self, value: str):
        self.email = value

    @event
    def set_created_from(self, value: str):
        self.created_from = value

    @event
    def set_created_to(self, value: str):
        self.created_to = value


def _field(label: str, control: rx.Component, error_key: str | None = None, *, html_for: str) -> rx.Component:
    """A filter: its label bound to the control ``html_for``, the control, and its error."""
    children = [field_label(label, html_for=html_for, size="1", color_scheme="gray"), control]
    if error_key:
        children.append(
            rx.cond(
                LeadsState.field_errors.contains(error_key),
                rx.text(LeadsState.error, color_scheme="red", size="1", role="alert", class_name="field-error"),
            )
        )
    return rx.vstack(*children, spacing="1", min_width="9em")


def _filters() -> rx.Component:
    s = LeadsState
    return rx.form(
        rx.flex(
            _field(
                "Status",
                rx.select.root(
                    rx.select.trigger(id="filter-status"),
                    rx.select.content(
                        rx.select.item("Any status", value=ANY),
                        *[rx.select.item(fmt.status_word(fmt.LEAD_STATUS, x), value=x) for x in STATUSES],
                    ),
                    name="status",
                    value=s.status,
                    on_change=s.set_status,
                ),
                "status",
                html_for="filter-status",
            ),
            _field(
                "Niche",
                rx.select.root(
                    rx.select.trigger(id="filter-niche"),
                    rx.select.content(
                        rx.select.item("Any niche", value=ANY),
                        rx.foreach(s.niches, lambda n: rx.select.item(n[1], value=n[0])),
                    ),
                    name="niche",
                    value=s.niche,
                    on_change=s.set_niche,
                ),
                html_for="filter-niche",
            ),
            _field(
                "Email (whole or its start)",
                rx.input(name="email", value=s.email, on_change=s.set_email, id="filter-email", type="search"),
                html_for="filter-email",
            ),
            _field(
                "From",
                rx.input(
                    name="created_from",
                    type="date",
                    value=s.created_from,
                    on_change=s.set_created_from,
                    id="filter-from",
                ),
                "created_from",
                html_for="filter-from",
            ),
            _field(
                "To",
                rx.input(
                    name="created_to", type="date", value=s.created_to, on_change=s.set_created_to, id="filter-to"
                ),
                "created_to",
                html_for="filter-to",
            ),
            rx.flex(
                rx.button("Filter", type="submit", id="filter-apply"),
                rx.button("Clear", type="button", variant="soft", color_scheme="gray", on_click=s.clear),
                spacing="2",
                align="end",
            ),
            wrap="wrap",
            spacing="3",
            align="end",
            width="100%",
        ),
        on_submit=s.apply,
        reset_on_submit=False,
        width="100%",
    )


def _row(r: dict) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.link(r["email"], href=r["href"], class_name="lead-link")),
        rx.table.cell(rx.badge(r["status"], color_scheme=r["status_color"])),
        rx.table.cell(r["niche"]),
        rx.table.cell(rx.link(r["created"], href=r["href"]), white_space="nowrap"),
        rx.table.cell(r["partner"]),
        id="row-" + r["id"],
    )


@admin_page(route=routes.ADMIN_LEADS, title="Leads", on_load=LeadsState.load)
def admin_leads() -> rx.Component:
    s = LeadsState
    return rx.vstack(
        _filters(),
        rx.cond(
            (s.error != "") & (s.field_errors.length() == 0),
            rx.callout(s.error, color_scheme="red", icon="triangle_alert", width="100%"),
        ),
        loading_or(
            s.loading,
            rx.cond(
                s.rows.length() > 0,
                data_table(
                    ("Email", "Status", "Niche", "Received (UTC)", "Partner"), s.rows, _row, table_id="leads-table"
                ),
                empty_state("No lead matches these filters.", id="leads-empty"),
            ),
        ),
        keyset_pager(s),
        width="100%",
        spacing="4",
    )
