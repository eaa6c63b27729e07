"""``/admin/leads``: every lead, newest first, filtered by status, niche, email and
creation day; keyset pages; each row links to the lead's detail."""

from __future__ import annotations

import reflex as rx

from hotlead_app import routes
from hotlead_app.components.backoffice import admin_layout, empty_state, pager
from hotlead_app.domain.errors import DomainError
from hotlead_app.domain.leads import LeadStatus
from hotlead_app.services import lead_browser, query
from hotlead_app.state.guards import AdminPageState
from hotlead_app.state.nav import queue_badge

PAGE_SIZE = 50
ANY = "any"


class LeadsState(AdminPageState):
    rows: list[dict[str, str]] = []
    niches: list[str] = []
    loading: bool = True
    error: str = ""
    field_errors: dict[str, str] = {}
    status: str = ANY
    niche: str = ANY
    email: str = ""
    created_from: str = ""
    created_to: str = ""
    has_next: bool = False
    page_index: int = 0
    _cursors: list = [None]
    _next_cursor: list | None = None

    def _fetch(self, principal) -> None:
        self.error = ""
        self.field_errors = {}
        try:
            rows = lead_browser.search_leads(
                actor=principal.actor, status=None if self.status == ANY else self.status,
                niche=None if self.niche == ANY else self.niche, email=self.email or None,
                created_from=self.created_from or None, created_to=self.created_to or None,
                limit=PAGE_SIZE, after=self._cursors[self.page_index])
        except DomainError as exc:
            self.error = exc.message
            self.field_errors = {k: str(v) for k, v in (exc.details or {}).items()}
            self.rows = []
            self.has_next = False
            self.loading = False
            return
        self.has_next = len(rows) > PAGE_SIZE
        rows = rows[:PAGE_SIZE]
        self._next_cursor = [rows[-1]["created_at"], rows[-1]["id"]] if self.has_next else None
        self.rows = [
            {"id": r["id"], "href": routes.admin_lead(r["id"]), "created": r["created_at"][:16].replace("T", " "),
             "status": r["status"], "niche": r["niche"], "email": r["email"], "partner": r["partner"]}
            for r in rows
        ]
        self.loading = False

    @rx.event
    def load(self):
        principal = self._admin()
        if principal is None:
            return rx.redirect(routes.SIGN_IN)
        self.niches = [n["slug"] for n in query.list_niches()]
        self.page_index = 0
        self._cursors = [None]
        self._fetch(principal)

    @rx.event
    def apply(self, form: dict):
        principal = self._admin()
        if principal is None:
            return rx.redirect(routes.SIGN_IN)
        self.email = self.email.strip()
        self.page_index = 0
        self._cursors = [None]
        self.loading = True
        yield
        self._fetch(principal)

    @rx.event
    def clear(self):
        self.status = ANY
        self.niche = ANY
        self.email = ""
        self.created_from = ""
        self.created_to = ""
        return LeadsState.load

    @rx.event
    def set_status(self, value: str):
        self.status = value

    @rx.event
    def set_niche(self, value: str):
        self.niche = value

    @rx.event
    def set_email(self, value: str):
        self.email = value

    @rx.event
    def set_created_from(self, value: str):
        self.created_from = value

    @rx.event
    def set_created_to(self, value: str):
        self.created_to = value

    @rx.event
    def next_page(self):
        principal = self._admin()
        if principal is None:
            return rx.redirect(routes.SIGN_IN)
        if not self._next_cursor:
            return
        self._cursors = self._cursors[: self.page_index + 1] + [self._next_cursor]
        self.page_index += 1
        self._fetch(principal)

    @rx.event
    def prev_page(self):
        principal = self._admin()
        if principal is None:
            return rx.redirect(routes.SIGN_IN)
        if self.page_index > 0:
            self.page_index -= 1
            self._fetch(principal)


def _field(label: str, control: rx.Component, error_key: str | None = None) -> rx.Component:
    children = [rx.text(label, size="1", color_scheme="gray", as_="label"), control]
    if error_key:
        children.append(rx.cond(LeadsState.field_errors.contains(error_key),
                                rx.text(LeadsState.error, color="red", size="1", role="alert",
                                        class_name="field-error")))
    return rx.vstack(*children, spacing="1", min_width="9em")


def _filters() -> rx.Component:
    s = LeadsState
    return rx.form(
        rx.flex(
            _field("Status", rx.select.root(
                rx.select.trigger(id="filter-status"),
                rx.select.content(rx.select.item("Any status", value=ANY),
                                  *[rx.select.item(x.value.replace("_", " "), value=x.value) for x in LeadStatus]),
                name="status", value=s.status, on_change=s.set_status)),
            _field("Niche", rx.select.root(
                rx.select.trigger(id="filter-niche"),
                rx.select.content(rx.select.item("Any niche", value=ANY),
                                  rx.foreach(s.niches, lambda n: rx.select.item(n, value=n))),
                name="niche", value=s.niche, on_change=s.set_niche)),
            _field("Email (whole or its start)", rx.input(name="email", value=s.email, on_change=s.set_email,
                                                         id="filter-email", type="search")),
            _field("From", rx.input(name="created_from", type="date", value=s.created_from,
                                    on_change=s.set_created_from, id="filter-from"), "created_from"),
            _field("To", rx.input(name="created_to", type="date", value=s.created_to,
                                  on_change=s.set_created_to, id="filter-to"),
                   "created_to"),
            rx.flex(
                rx.button("Filter", type="submit", id="filter-apply"),
                rx.button("Clear", type="button", variant="soft", color_scheme="gray", on_click=s.clear),
                spacing="2", align="end",
            ),
            wrap="wrap", spacing="3", align="end", width="100%",
        ),
        on_submit=s.apply,
        reset_on_submit=False,
        width="100%",
    )


def _row(r: dict) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.link(r["created"], href=r["href"])),
        rx.table.cell(rx.badge(r["status"])),
        rx.table.cell(r["niche"]),
        rx.table.cell(rx.link(r["email"], href=r["href"], class_name="lead-link")),
        rx.table.cell(r["partner"]),
        id="row-" + r["id"],
    )


@rx.page(route=routes.ADMIN_LEADS, title="Leads | Find Me A Hot Lead", on_load=LeadsState.load)
def admin_leads() -> rx.Component:
    s = LeadsState
    return admin_layout(
        rx.vstack(
            _filters(),
            rx.cond((s.error != "") & (s.field_errors.length() == 0),
                    rx.callout(s.error, color_scheme="red", icon="triangle_alert", width="100%")),
            rx.cond(
                s.loading,
                rx.center(rx.spinner(size="3"), padding="3em", width="100%"),
                rx.cond(
                    s.rows.length() > 0,
                    rx.box(
                        rx.table.root(
                            rx.table.header(rx.table.row(
                                *[rx.table.column_header_cell(h) for h in
                                  ("Received (UTC)", "Status", "Niche", "Email", "Partner")])),
                            rx.table.body(rx.foreach(s.rows, _row)),
                            width="100%", size="1", id="leads-table",
                        ),
                        overflow_x="auto", width="100%",
                    ),
                    empty_state("No lead matches these filters.", id="leads-empty"),
                ),
            ),
            pager(s.page_index > 0, s.has_next, s.prev_page, s.next_page),
            width="100%",
            spacing="4",
        ),
        title="Leads",
        on_sign_out=s.sign_out,
        queue_badge=queue_badge(),
    )
