"""``/admin/queue``: confirmed leads waiting for an admin, oldest first.

Each lead shows its niche, answers, contact, source (referrer, UTM, partner),
consent evidence and time waiting.  Approve or reject one at a time or a selection
(both confirmed in a dialog naming the count).  The list reloads by itself when the
backlog changes (``NavState`` polls it; see ``hotlead_app/state/nav.py``).

Keyboard: Tab reaches every lead card and button; on a focused card ``j`` / ``k``
move to the next / previous lead, ``x`` selects it, ``a`` approves it and ``r``
opens its reject dialog with the reason field focused (``components/keyboard.py``).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import reflex as rx

from hotlead_app import routes
from hotlead_app.components import format as fmt
from hotlead_app.components.backoffice import empty_state
from hotlead_app.components.keyboard import KeyAction, item_attrs, list_keys
from hotlead_app.components.page import admin_page
from hotlead_app.components.widgets import confirm_dialog, duplicate_badge, keyset_pager, loading_or, reason_fields
from hotlead_app.domain.errors import DomainError
from hotlead_app.services import leads
from hotlead_app.services.reads import approval_queue
from hotlead_app.services.reads import niches as niche_reads
from hotlead_app.state import nav
from hotlead_app.state.dialogs import ReasonDialog
from hotlead_app.state.events import event
from hotlead_app.state.guards import AdminPageState, guarded
from hotlead_app.state.paging import KeysetPages

PAGE_SIZE = 20
BULK = "__selected__"

KEYS = {
    "a": KeyAction(click=".approve", removes=True),
    "r": KeyAction(click=".reject", focus="#reject-reason"),
    "x": KeyAction(click=".select-lead"),
}


def _display(row: Mapping[str, Any], fields: list[dict[str, Any]]) -> dict[str, str]:
    partner = row["partner"] + (f" ({row['partner_name']})" if row["partner_name"] else "")
    consent = ", ".join(
        x
        for x in (
            f"text v{row['consent_version']}" if row["consent_version"] else "",
            f"IP {row['consent_ip']}" if row["consent_ip"] else "",
            f"confirmed {fmt.when_utc(row['confirmed_at'])}" if row["confirmed_at"] else "",
        )
        if x
    )
    return {
        "id": row["id"],
        "niche": row["niche_name"] or row["niche"],
        "name": row["name"],
        "email": row["email"],
        "phone": fmt.phone(row["phone"]),
        "payload": fmt.answers_text(fields, row["payload"]) or "—",
        "utm": fmt.pairs(row["utm_params"]),
        "referrer": row["referrer_url"],
        "partner": partner,
        "consent": consent or "none recorded",
        "user_agent": row["consent_user_agent"],
        "waiting": row["waiting"],
        "received": fmt.when(row["created_at"]),
        "duplicate_of": row.get("duplicate_of") or "",
        "duplicate_href": routes.admin_lead(row["duplicate_of"]) if row.get("duplicate_of") else "",
        "duplicate_label": fmt.duplicate_label(row.get("duplicate_of")),
    }


class QueueState(KeysetPages, ReasonDialog, AdminPageState):
    items: rx.Field[list[dict[str, str]]] = rx.field(default_factory=list)
    loading: rx.Field[bool] = rx.field(True)
    selected: rx.Field[list[str]] = rx.field(default_factory=list)
    # The open dialog (ReasonDialog.dialog): "approve" (the selection) or "reject".
    reject_target: rx.Field[str] = rx.field("")  # a lead id, or BULK for the selection
    # Each niche's form (slug -> fields): answers are shown by label in the form's order.
    _forms: dict[str, list[dict[str, Any]]] = {}

    def _show_page(self, principal, start: list | None) -> None:
        """The page from ``start``; the selection keeps only the leads still in view (a
        new page therefore starts with none selected)."""
        rows = approval_queue.approval_queue(principal.actor, limit=PAGE_SIZE, after=start)
        if not rows and self._drop_page():  # the page emptied: step back
            return self._reload_page(principal)
        rows = self._take_page(rows, PAGE_SIZE, lambda r: [r["created_at"], r["id"]])
        if any(r["niche"] not in self._forms for r in rows):
            self._forms = {n["slug"]: n["fields"] for n in niche_reads.list_niches(principal.actor)}
        self.items = [_display(r, self._forms.get(r["niche"], [])) for r in rows]
        shown = {i["id"] for i in self.items}
        self.selected = [s for s in self.selected if s in shown]
        self.loading = False

    @event
    @guarded
    def load(self, principal):
        self.loading = True
        self.selected = []
        self.dialog = ""
        self._forms = {}  # read the forms again: an admin may have edited one
        self._first_page(principal)
        return rx.call_script(list_keys(routes.ADMIN_QUEUE, KEYS))

    @event
    @guarded
    def refresh(self, principal):
        """The backlog changed: reload the page in view, keeping the selection."""
        self._reload_page(principal)

    @event
    def toggle(self, lead_id: str):
        if lead_id in self.selected:
            self.selected = [s for s in self.selected if s != lead_id]
        else:
            self.selected = [*self.selected, lead_id]

    @event
    def toggle_all(self, _checked: bool | str = False):
        if len(self.selected) == len(self.items):
            self.selected = []
        else:
            self.selected = [i["id"] for i in self.items]

    @event
    def open_reject(self, target: str):
        self.reject_target = target
        self.reason_error = ""
        self.dialog = "reject"

    @event
    def open_bulk_approve(self):
        if self.selected:
            self.dialog = "approve"

    def _ids(self, target: str) -> list[str]:
        return list(self.selected) if target == BULK else [target]

    def _run(self, principal, ids: list[str], act) -> tuple[int, list[str]]:
        done, failures = 0, []
        for lead_id in ids:
            try:
                act(uuid.UUID(lead_id), principal)
            except DomainError as exc:
                failures.append(exc.message)
            else:
                done += 1
        return done, failures

    def _outcome(self, verb: str, done: int, failures: list[str], principal):
        self.selected = []
        self.dialog = ""
        self._reload_page(principal)
        noun = "lead" if done == 1 else "leads"
        if failures:
            return rx.toast.error(f"{verb} {done} {noun}; {len(failures)} could not be: {failures[0]}")
        return rx.toast.success(
            f"{verb} {done} {noun}." + (" They go to distribution now." if verb == "Approved" else "")
        )

    @event
    @guarded
    def approve(self, principal, lead_id: str):
        done, failures = self._run(principal, [lead_id], lambda i, p: leads.approve_lead(lead_id=i, actor=p.actor))
        return self._outcome("Approved", done, failures, principal)

    @event
    @guarded
    def approve_selected(self, principal):
        memo = self.memo.strip() or None
        self.busy = True
        done, failures = self._run(
            principal, self._ids(BULK), lambda i, p: leads.approve_lead(lead_id=i, actor=p.actor, memo=memo)
        )
        self.busy = False
        self.memo = ""
        return self._outcome("Approved", done, failures, principal)

    @event
    @guarded
    def confirm_reject(self, principal):
        reason = self.reason.strip()
        if not reason:
            self.reason_error = "Say why: the reason is kept with the lead."
            return
        memo = self.memo.strip() or None
        self.busy = True
        done, failures = self._run(
            principal,
            self._ids(self.reject_target),
            lambda i, p: leads.reject_lead(lead_id=i, actor=p.actor, reason=reason, memo=memo),
        )
        self.busy = False
        self.reason = ""
        self.memo = ""
        return self._outcome("Rejected", done, failures, principal)

    @rx.var
    def selected_count(self) -> int:
        return len(self.selected)

    @rx.var
    def reject_count(self) -> int:
        return len(self.selected) if self.reject_target == BULK else 1

    @rx.var
    def all_selected(self) -> bool:
        return bool(self.items) and len(self.selected) == len(self.items)


nav.refresh_on_change(routes.ADMIN_QUEUE, QueueState.refresh)


def _line(label: str, value, **props) -> rx.Component:
    return rx.cond(
        value != "",
        rx.text(rx.text.strong(label + " "), value, size="2", style={"overflow_wrap": "anywhere"}, **props),
    )


def _card(item: dict) -> rx.Component:
    return rx.card(
        rx.flex(
            rx.checkbox(
                checked=QueueState.selected.contains(item["id"]),
                on_change=lambda _v: QueueState.toggle(item["id"]),
                class_name="select-lead",
                aria_label="Select " + item["email"],
                size="3",
            ),
            rx.vstack(
                rx.flex(
                    rx.badge(item["niche"], color_scheme="blue"),
                    rx.text("waiting " + item["waiting"], size="2", color_scheme="gray", class_name="waiting"),
                    rx.text("received " + item["received"] + " UTC", size="1", color_scheme="gray"),
                    duplicate_badge(item["duplicate_of"], item["duplicate_href"], item["duplicate_label"]),
                    wrap="wrap",
                    spacing="2",
                    align="center",
                ),
                rx.text(
                    rx.text.strong(item["name"]),
                    rx.cond(item["name"] != "", " · ", ""),
                    item["email"],
                    " ",
                    item["phone"],
                    size="3",
                    style={"overflow_wrap": "anywhere"},
                ),
                _line("Answers:", item["payload"], class_name="payload"),
                _line("Source:", item["referrer"]),
                _line("UTM:", item["utm"]),
                _line("Partner:", item["partner"]),
                _line("Consent:", item["consent"], class_name="consent"),
                _line("Browser:", item["user_agent"], color_scheme="gray"),
                spacing="1",
                flex="1",
                min_width="0",
            ),
            rx.flex(
                rx.button(
                    "Approve",
                    size="2",
                    on_click=QueueState.approve(item["id"]),
                    class_name="approve",
                    loading=QueueState.busy,
                ),
                rx.button(
                    "Reject",
                    size="2",
                    color_scheme="red",
                    variant="soft",
                    class_name="reject",
                    on_click=QueueState.open_reject(item["id"]),
                ),
                direction="column",
                spacing="2",
            ),
            spacing="3",
            align="start",
            wrap="wrap",
        ),
        id="lead-" + item["id"],
        width="100%",
        class_name="queue-card",
        custom_attrs=item_attrs(),
        aria_label="Lead from " + item["email"],
    )


def _plural(count, one: str, many_prefix: str, many_suffix: str) -> rx.Var:
    return rx.cond(count == 1, one, many_prefix + count.to_string() + many_suffix)


def _approve_dialog() -> rx.Component:
    s = QueueState
    return confirm_dialog(
        _plural(s.selected_count, "Approve 1 lead?", "Approve ", " leads?"),
        "They go to distribution right away: providers are charged and receive the contact details.",
        rx.text_area(
            placeholder="Memo for admins (optional)",
            value=s.memo,
            on_change=s.set_memo,
            margin_top="1em",
            width="100%",
            id="approve-memo",
        ),
        confirm=rx.button(
            _plural(s.selected_count, "Approve 1 lead", "Approve ", " leads"),
            on_click=s.approve_selected,
            loading=s.busy,
            id="confirm-approve",
        ),
        title_props={"id": "approve-dialog-title"},
        open=s.dialog == "approve",
        on_open_change=s.set_dialog_open,
    )


def _reject_dialog() -> rx.Component:
    s = QueueState
    return confirm_dialog(
        _plural(s.reject_count, "Reject this lead?", "Reject ", " leads?"),
        "A rejected lead is never distributed. Say why:",
        reason_fields(s, "reject"),
        confirm=rx.button(
            _plural(s.reject_count, "Reject", "Reject ", " leads"),
            color_scheme="red",
            on_click=s.confirm_reject,
            loading=s.busy,
            id="confirm-reject",
        ),
        title_props={"id": "reject-dialog-title"},
        open=s.dialog == "reject",
        on_open_change=s.set_dialog_open,
    )


def _toolbar() -> rx.Component:
    s = QueueState
    return rx.flex(
        rx.checkbox(
            "Select all on this page",
            checked=s.all_selected,
            on_change=s.toggle_all,
            id="select-all",
            disabled=s.items.length() == 0,
        ),
        rx.spacer(),
        rx.button(
            "Approve selected (" + s.selected_count.to_string() + ")",
            on_click=s.open_bulk_approve,
            disabled=s.selected_count == 0,
            id="approve-selected",
        ),
        rx.button(
            "Reject selected (" + s.selected_count.to_string() + ")",
            color_scheme="red",
            variant="soft",
            on_click=s.open_reject(BULK),
            disabled=s.selected_count == 0,
            id="reject-selected",
        ),
        wrap="wrap",
        spacing="3",
        align="center",
        width="100%",
    )


@admin_page(route=routes.ADMIN_QUEUE, title="Approval queue", on_load=QueueState.load)
def admin_queue() -> rx.Component:
    s = QueueState
    return rx.vstack(
        rx.text(
            "Oldest first. Keys on a focused lead: j / k next / previous, x select, a approve, r reject. "
            "New confirmed leads appear by themselves.",
            size="2",
            color_scheme="gray",
            id="queue-help",
        ),
        _toolbar(),
        loading_or(
            s.loading,
            rx.cond(
                s.items.length() > 0,
                rx.vstack(rx.foreach(s.items, _card), spacing="3", width="100%", id="queue-list"),
                empty_state("Nothing waiting: every confirmed lead has been reviewed.", id="queue-empty"),
            ),
        ),
        keyset_pager(s),
        _approve_dialog(),
        _reject_dialog(),
        width="100%",
        spacing="4",
    )
