"""``/admin/returns``: the providers' return requests, filtered by status (pending by
default), niche and provider, each with its provider's return rate of the last 30
days; approve (refunds the lead as an admin refund) or deny with a reason (DOMAIN.md
"Returns").

Keyboard, as in the approval queue (``components/keyboard.py``): Tab reaches every
request; on a focused request ``j`` / ``k`` move to the next / previous one, ``a``
approves it and ``d`` opens its deny dialog with the reason field focused (a denial
still needs a reason)."""

from __future__ import annotations

import uuid

import reflex as rx

from hotlead_app import routes
from hotlead_app.components import format as fmt
from hotlead_app.components.backoffice import empty_state
from hotlead_app.components.keyboard import KeyAction, item_attrs, list_keys
from hotlead_app.components.page import admin_page
from hotlead_app.components.widgets import confirm_dialog, data_table, labelled_cell, loading_or, reason_fields
from hotlead_app.domain.errors import DomainError
from hotlead_app.services import returns
from hotlead_app.services.reads import niches as niche_reads
from hotlead_app.services.reads import providers, return_requests
from hotlead_app.state.dialogs import ReasonDialog
from hotlead_app.state.events import event
from hotlead_app.state.guards import AdminPageState, guarded

LIMIT = 200
STATUSES = ["pending", "approved", "denied", "all"]
#: The status filter's choices as admins read them.
STATUS_FILTER_LABELS = {"pending": "Pending", "approved": "Approved", "denied": "Denied", "all": "All"}
#: A request's status in its row: the words and the badge's colour.
STATUS_TEXT = {"pending": "Pending", "approved": "Approved: refunded", "denied": "Denied"}
STATUS_COLORS = {"pending": "amber", "approved": "green", "denied": "red"}
ALL_NICHES = "all"
KEYS = {
    "a": KeyAction(click=".return-approve", removes=True),
    "d": KeyAction(click=".return-deny", focus="#deny-reason"),
}
KEYS_HELP = "Keys on a focused request: j / k next / previous, a approve, d deny (asks for the reason)."


class ReturnsQueueState(ReasonDialog, AdminPageState):
    items: rx.Field[list[dict[str, str]]] = rx.field(default_factory=list)
    loading: rx.Field[bool] = rx.field(True)
    status: rx.Field[str] = rx.field("pending")
    message: rx.Field[str] = rx.field("")
    error: rx.Field[str] = rx.field("")
    # Filters: a niche (slug, "" for all) and a provider (id or email, "" for all).
    niche: rx.Field[str] = rx.field("")
    # The niche filter's choices: {"value": slug, "label": name}, "all" first.
    niche_options: rx.Field[list[dict[str, str]]] = rx.field(default_factory=list)
    provider: rx.Field[str] = rx.field("")
    provider_error: rx.Field[str] = rx.field("")

    def _load(self, principal) -> None:
        listed = niche_reads.list_niches(principal.actor)
        niches = {n["slug"]: n["id"] for n in listed}
        self.niche_options = [
            {"value": ALL_NICHES, "label": "All niches"},
            *({"value": n["slug"], "label": n["name"]} for n in listed),
        ]
        provider_id = None
        self.provider_error = ""
        if self.provider.strip():
            try:
                provider_id = providers.resolve_provider(principal.actor, text=self.provider)
            except DomainError as exc:
                self.provider_error = exc.message
                self.items, self.loading = [], False
                return
        rows = return_requests.admin_returns(
            principal.actor,
            status=None if self.status == "all" else self.status,
            niche_id=uuid.UUID(niches[self.niche]) if self.niche in niches else None,
            provider_id=provider_id,
            limit=LIMIT,
        )
        niche_names = {n["slug"]: n["name"] for n in listed}
        self.items = [
            {
                "id": r["id"],
                "when": r["created_at"][:16].replace("T", " "),
                "provider": r["provider_name"],
                "provider_href": routes.admin_provider(r["provider_id"]),
                "rate": f"{r['provider_return_rate_percent']:g} %",
                "niche": niche_names.get(r["niche"], r["niche"]),
                "lead_href": routes.admin_lead(r["lead_id"]),
                "price": fmt.money(r["charged_amount"]),
                "reason": r["reason_label"],
                "note": r["note"] or "",
                "status": r["status"],
                "status_text": STATUS_TEXT.get(r["status"], r["status"]),
                "status_color": STATUS_COLORS.get(r["status"], "gray"),
                "deny_reason": r["deny_reason"] or "",
            }
            for r in rows[:LIMIT]
        ]
        self.loading = False

    @event
    @guarded
    def load(self, principal):
        self.loading = True
        self._load(principal)
        return rx.call_script(list_keys(routes.ADMIN_RETURNS, KEYS))

    @event
    @guarded
    def set_status(self, principal, value: str):
        self.status = value if value in STATUSES else "pending"
        self._load(principal)

    @event
    @guarded
    def set_niche(self, principal, value: str):
        self.niche = "" if value == ALL_NICHES else value
        self._load(principal)

    @event
    @guarded
    def filter_provider(self, principal, form: dict):
        self.provider = str(form.get("provider", "")).strip()
        self._load(principal)

    @event
    @guarded
    def approve(self, principal, request_id: str):
        self.message, self.error = "", ""
        try:
            returns.approve_return(request_id=uuid.UUID(request_id), actor=principal.actor)
            self.message = "Approved: the lead's price was credited to the provider."
        except DomainError as exc:
            self.error = exc.message
        self._load(principal)

    @event
    def open_deny(self, request_id: str):
        self.dialog, self.reason, self.memo, self.reason_error = request_id, "", "", ""

    @event
    @guarded
    def confirm_deny(self, principal):
        if not self.reason.strip():
            self.reason_error = "Say why the return is denied."
            return
        self.message, self.error = "", ""
        try:
            returns.deny_return(
                request_id=uuid.UUID(self.dialog), actor=principal.actor, reason=self.reason, memo=self.memo or None
            )
            self.message = "Denied: the provider is told why."
        except DomainError as exc:
            self.error = exc.message
        self.dialog = ""
        self._load(principal)


S = ReturnsQueueState


def _row(r: dict) -> rx.Component:
    pending = r["status"] == "pending"
    return rx.table.row(
        labelled_cell("Asked", r["when"], white_space="nowrap"),
        labelled_cell(
            "Provider",
            rx.link(r["provider"], href=r["provider_href"]),
            rx.text(r["rate"], size="1", color_scheme="gray"),
        ),
        labelled_cell("Niche", r["niche"]),
        labelled_cell("Lead", rx.link("lead", href=r["lead_href"]), " ", r["price"]),
        labelled_cell("Reason", r["reason"], rx.text(r["note"], size="1", color_scheme="gray")),
        labelled_cell(
            "Status",
            rx.badge(r["status_text"], color_scheme=r["status_color"]),
            rx.text(r["deny_reason"], size="1", color_scheme="gray"),
            class_name="return-status",
        ),
        labelled_cell(
            "",
            rx.cond(
                pending,
                rx.hstack(
                    rx.button("Approve", size="1", on_click=S.approve(r["id"]), class_name="return-approve"),
                    rx.button(
                        "Deny",
                        size="1",
                        color_scheme="red",
                        variant="soft",
                        on_click=S.open_deny(r["id"]),
                        class_name="return-deny",
                    ),
                    spacing="2",
                ),
            ),
        ),
        id="return-" + r["id"],
        class_name="return-row",
        custom_attrs=item_attrs(),
        aria_label="Return request from " + r["provider"],
        _focus={"outline": "2px solid var(--accent-8)", "outline_offset": "-2px"},
    )


def _deny_dialog() -> rx.Component:
    return confirm_dialog(
        "Deny this return?",
        "Nothing is refunded; the provider is emailed your reason.",
        reason_fields(S, "deny"),
        confirm=rx.button("Deny", color_scheme="red", on_click=S.confirm_deny, id="confirm-deny"),
        open=S.dialog != "",
        on_open_change=S.set_dialog_open,
    )


@admin_page(route=routes.ADMIN_RETURNS, title="Returns", on_load=S.load)
def admin_returns() -> rx.Component:
    headers = ["Asked", "Provider (30-day return rate)", "Niche", "Lead", "Reason", "Status", ""]
    return rx.vstack(
        rx.text(KEYS_HELP, size="2", color_scheme="gray", id="returns-keys-help"),
        rx.flex(
            rx.text("Show", size="2", id="returns-status-label"),
            rx.select.root(
                rx.select.trigger(id="returns-status", aria_labelledby="returns-status-label"),
                rx.select.content(
                    *[rx.select.item(label, value=value) for value, label in STATUS_FILTER_LABELS.items()]
                ),
                value=S.status,
                on_change=S.set_status,
            ),
            rx.text("Niche", size="2", id="returns-niche-label"),
            rx.select.root(
                rx.select.trigger(id="returns-niche", aria_labelledby="returns-niche-label"),
                rx.select.content(rx.foreach(S.niche_options, lambda o: rx.select.item(o["label"], value=o["value"]))),
                value=rx.cond(S.niche == "", ALL_NICHES, S.niche),
                on_change=S.set_niche,
            ),
            rx.form(
                rx.hstack(
                    rx.input(
                        name="provider",
                        placeholder="Provider id or email",
                        default_value=S.provider,
                        id="returns-provider",
                        aria_label="Provider id or email",
                        min_width="15em",
                    ),
                    rx.button("Filter", type="submit", variant="soft", id="returns-filter"),
                    spacing="2",
                ),
                on_submit=S.filter_provider,
                reset_on_submit=False,
            ),
            align="center",
            spacing="2",
            wrap="wrap",
        ),
        rx.cond(
            S.provider_error != "", rx.text(S.provider_error, color_scheme="red", size="2", id="returns-provider-error")
        ),
        rx.cond(S.message != "", rx.callout(S.message, color_scheme="green", id="returns-message")),
        rx.cond(S.error != "", rx.callout(S.error, color_scheme="red", id="returns-error")),
        loading_or(
            S.loading,
            rx.cond(
                S.items.length() > 0,
                data_table(headers, S.items, _row, id="returns-table", stack_on_phone=True),
                empty_state("No return requests here.", id="returns-empty"),
            ),
        ),
        _deny_dialog(),
        spacing="3",
        width="100%",
    )
