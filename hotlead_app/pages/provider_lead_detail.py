"""``/provider/leads/[lead_id]``: one lead the provider received — name, tap-to-call
and email links, every answer (labels in the form's order), price, level, how many
providers share it, refund; the provider's private note; "Return this lead" while its
window is open (time left shown), and the outcome buttons."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import reflex as rx

from hotlead_app import routes
from hotlead_app.components import format as fmt
from hotlead_app.components.layout import field_label
from hotlead_app.components.page import provider_page
from hotlead_app.components.widgets import loading_or
from hotlead_app.domain.errors import DomainError
from hotlead_app.models.inbox import NOTE_MAX_CHARS
from hotlead_app.services import inbox, outcomes, returns
from hotlead_app.services.reads import lead_detail
from hotlead_app.state.events import event
from hotlead_app.state.fields import ObjectField, object_field
from hotlead_app.state.guards import ProviderPageState, guarded

RETURN_STATUS_TEXT = {
    "pending": "Return requested: waiting for an admin.",
    "approved": "Return approved: the price was credited to your balance.",
    "denied": "Return denied",
}
OUTCOME_TEXT = {"contacted": "Contacted", "appointment": "Appointment", "won": "Won", "lost": "Lost"}


def time_left(closes_at: str, now: datetime) -> str:
    """``"2d 3h left"``, ``"5h 12m left"`` or ``""`` once the window has closed."""
    seconds = int((datetime.fromisoformat(closes_at) - now).total_seconds())
    if seconds <= 0:
        return ""
    days, hours, minutes = seconds // 86400, seconds % 86400 // 3600, seconds % 3600 // 60
    return f"{days}d {hours}h left" if days else f"{hours}h {minutes}m left"


class ProviderLeadState(ProviderPageState):
    lead: ObjectField[dict[str, str]] = object_field(dict)
    fields: rx.Field[list[dict[str, str]]] = rx.field(default_factory=list)
    loading: rx.Field[bool] = rx.field(True)
    missing: rx.Field[bool] = rx.field(False)
    # Returns: the form while the window is open and no request was made.
    can_return: rx.Field[bool] = rx.field(False)
    return_left: rx.Field[str] = rx.field("")
    return_status: rx.Field[str] = rx.field("")
    reasons: rx.Field[list[dict[str, str]]] = rx.field(default_factory=list)
    return_reason: rx.Field[str] = rx.field("")
    return_note: rx.Field[str] = rx.field("")
    return_error: rx.Field[str] = rx.field("")
    # Outcomes: the latest, and the won value / lost reason typed.
    outcome: rx.Field[str] = rx.field("")
    won_value: rx.Field[str] = rx.field("")
    lost_reason: rx.Field[str] = rx.field("")
    outcome_error: rx.Field[str] = rx.field("")
    # The private note: as typed, as saved, when it was saved, and an error.
    note: rx.Field[str] = rx.field("")
    note_saved: rx.Field[str] = rx.field("")
    note_saved_at: rx.Field[str] = rx.field("")
    note_error: rx.Field[str] = rx.field("")
    saving_note: rx.Field[bool] = rx.field(False)

    @event
    def set_note(self, value: str):
        self.note = value
        self.note_error = ""

    @event
    @guarded
    def save_note(self, principal):
        self.saving_note = True
        yield
        try:
            saved = inbox.save_note(
                actor=principal.actor, assignment_id=uuid.UUID(self.lead["assignment_id"]), body=self.note
            )
        except DomainError as exc:
            self.note_error = "; ".join(str(v) for v in exc.details.values()) or exc.message
            self.saving_note = False
            return
        self.note = self.note_saved = saved.body
        self.note_saved_at = fmt.when_utc(saved.updated_at)
        self.saving_note = False
        yield rx.toast.success("Note saved.")

    @event
    def set_return_reason(self, value: str):
        self.return_reason = value

    @event
    def set_return_note(self, value: str):
        self.return_note = value

    @event
    def set_won_value(self, value: str):
        self.won_value = value

    @event
    def set_lost_reason(self, value: str):
        self.lost_reason = value

    @event
    @guarded
    def submit_return(self, principal):
        self.return_error = ""
        if not self.return_reason:
            self.return_error = "Choose a reason."
            return
        try:
            returns.request_return(
                assignment_id=uuid.UUID(self.lead["assignment_id"]),
                actor=principal.actor,
                reason=self.return_reason,
                note=self.return_note or None,
            )
        except DomainError as exc:
            self.return_error = exc.message
            return
        self.return_note = ""
        return ProviderLeadState.load

    @event
    @guarded
    def record_outcome(self, principal, outcome: str):
        self.outcome_error = ""
        try:
            outcomes.record_outcome(
                assignment_id=uuid.UUID(self.lead["assignment_id"]),
                actor=principal.actor,
                outcome=outcome,
                value=(self.won_value.strip() or None) if outcome == "won" else None,
                reason=(self.lost_reason.strip() or None) if outcome == "lost" else None,
            )
        except DomainError as exc:
            detail = "; ".join(f"{k}: {v}" for k, v in exc.details.items())
            self.outcome_error = f"{exc.message} {detail}".strip()
            return
        self.won_value, self.lost_reason = "", ""
        return ProviderLeadState.load

    @event
    @guarded
    def load(self, principal):
        self.loading, self.missing = True, False
        try:
            lead_id = uuid.UUID(str(self.router.page.params.get("lead_id", "")))
            data = lead_detail.provider_lead(principal.actor, lead_id=lead_id)
        except (ValueError, DomainError):
            self.lead, self.fields, self.missing, self.loading = {}, [], True, False
            return
        self.lead = {
            "name": data["name"],
            "email": data["email"],
            "phone": fmt.phone(data["phone"]),
            "tel": fmt.phone_href(data["phone"]),
            "niche": data["niche"],
            "level": data["level"],
            "price": fmt.money(data["charged_amount"]),
            "shared": str(data["shared_with"]),
            "assignment_id": data["assignment_id"],
            "received": fmt.when(data["assigned_at"]),
            "submitted": fmt.when(data["created_at"]),
            "refund": (
                f"Refunded {fmt.when(data['refunded_at'])}: {data['refund_reason'] or ''}"
                if data["is_refunded"]
                else ""
            ),
        }
        self.fields = [{"label": k, "value": v} for k, v in fmt.answers(data["niche_fields"], data["payload"])]
        self.note = self.note_saved = data["note"]
        self.note_saved_at = fmt.when_utc(data["note_updated_at"])
        self.note_error = ""
        request = data["return_request"]
        self.return_left = time_left(data["return_window_closes_at"], datetime.now(UTC))
        self.can_return = request is None and not data["is_refunded"] and self.return_left != ""
        self.return_status = ""
        if request is not None:
            self.return_status = RETURN_STATUS_TEXT.get(request["status"], request["status"])
            if request["status"] == "denied":
                self.return_status += f": {request['deny_reason'] or ''}"
        self.reasons = [{"code": r["code"], "label": r["label"]} for r in data["return_reasons"]]
        latest = data["latest_outcome"]
        self.outcome = ""
        if latest is not None:
            self.outcome = OUTCOME_TEXT.get(latest["outcome"], latest["outcome"])
            if latest["value"]:
                self.outcome += f" ({latest['value']})"
            if latest["reason"]:
                self.outcome += f": {latest['reason']}"
        self.loading = False


S = ProviderLeadState


def _item(label: str, value, id: str | None = None) -> rx.Component:
    return rx.data_list.item(rx.data_list.label(label), rx.data_list.value(value, id=id))


def _outcome_card() -> rx.Component:
    def button(outcome: str, label: str) -> rx.Component:
        return rx.button(label, variant="soft", size="2", on_click=S.record_outcome(outcome), id=f"outcome-{outcome}")

    return rx.card(
        rx.vstack(
            rx.heading("What became of it", size="4"),
            rx.text(
                "Latest: ",
                rx.text.strong(rx.cond(S.outcome != "", S.outcome, "nothing recorded yet"), id="lead-outcome"),
                size="2",
            ),
            rx.flex(
                button("contacted", "Contacted"),
                button("appointment", "Appointment"),
                rx.hstack(
                    rx.input(
                        placeholder="Value (optional)",
                        aria_label="Value won (optional)",
                        value=S.won_value,
                        on_change=S.set_won_value,
                        id="outcome-won-value",
                        width="9em",
                    ),
                    button("won", "Won"),
                    spacing="1",
                ),
                rx.hstack(
                    rx.input(
                        placeholder="Why (optional)",
                        aria_label="Why it was lost (optional)",
                        value=S.lost_reason,
                        on_change=S.set_lost_reason,
                        id="outcome-lost-reason",
                        width="12em",
                    ),
                    button("lost", "Lost"),
                    spacing="1",
                ),
                wrap="wrap",
                spacing="3",
                align="center",
            ),
            rx.cond(
                S.outcome_error != "",
                rx.text(S.outcome_error, color_scheme="red", size="2", role="alert", id="outcome-error"),
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
    )


def _note_card() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading("Your note", size="4"),
            rx.text("Private: only you see it.", size="1", color_scheme="gray"),
            rx.el.label(rx.text("Note on this lead", size="2"), html_for="lead-note"),
            rx.text_area(
                value=S.note,
                on_change=S.set_note,
                id="lead-note",
                width="100%",
                rows="4",
                max_length=NOTE_MAX_CHARS,
                placeholder="e.g. called Tuesday, call back after 5 pm",
                custom_attrs={"aria-describedby": "lead-note-help"},
            ),
            rx.hstack(
                rx.text(
                    S.note.length().to_string() + f" / {NOTE_MAX_CHARS}",
                    rx.cond(S.note_saved_at != "", " · saved " + S.note_saved_at, ""),
                    size="1",
                    color_scheme="gray",
                    id="lead-note-help",
                ),
                rx.spacer(),
                rx.button(
                    "Save note",
                    on_click=S.save_note,
                    loading=S.saving_note,
                    disabled=S.note == S.note_saved,
                    id="lead-note-save",
                ),
                width="100%",
                align="center",
            ),
            rx.cond(
                S.note_error != "",
                rx.text(S.note_error, color_scheme="red", size="2", role="alert", id="lead-note-error"),
            ),
            spacing="2",
            width="100%",
        ),
        width="100%",
        id="note-card",
    )


def _return_card() -> rx.Component:
    return rx.cond(
        S.return_status != "",
        rx.callout(S.return_status, icon="undo_2", color_scheme="gray", id="lead-return-status"),
        rx.cond(
            S.can_return,
            rx.card(
                rx.vstack(
                    rx.hstack(
                        rx.heading("Return this lead", size="4"),
                        rx.badge(S.return_left, color_scheme="amber", id="return-time-left"),
                        align="center",
                        spacing="3",
                    ),
                    field_label("Reason", html_for="return-reason"),
                    rx.select.root(
                        rx.select.trigger(placeholder="Why?", id="return-reason"),
                        rx.select.content(rx.foreach(S.reasons, lambda r: rx.select.item(r["label"], value=r["code"]))),
                        value=S.return_reason,
                        on_change=S.set_return_reason,
                    ),
                    field_label("Note for the admin (optional)", html_for="return-note"),
                    rx.text_area(
                        placeholder="e.g. the number is disconnected",
                        value=S.return_note,
                        on_change=S.set_return_note,
                        id="return-note",
                        width="100%",
                    ),
                    rx.cond(
                        S.return_error != "",
                        rx.text(S.return_error, color_scheme="red", size="2", role="alert", id="return-error"),
                    ),
                    rx.button("Return this lead", on_click=S.submit_return, id="return-submit"),
                    spacing="3",
                    width="100%",
                ),
                width="100%",
                id="return-card",
            ),
        ),
    )


@provider_page(route=routes.PROVIDER_LEAD, title="Lead", on_load=S.load)
def provider_lead_detail() -> rx.Component:
    return loading_or(
        S.loading,
        rx.cond(
            S.missing,
            rx.callout("This lead is not among yours.", icon="triangle_alert", color_scheme="red", id="lead-missing"),
            rx.vstack(
                rx.cond(
                    S.lead["refund"] != "",
                    rx.callout(S.lead["refund"], icon="undo_2", color_scheme="amber", id="lead-refund"),
                ),
                rx.card(
                    rx.data_list.root(
                        rx.cond(S.lead["name"] != "", _item("Name", S.lead["name"], "lead-name")),
                        _item("Email", rx.link(S.lead["email"], href="mailto:" + S.lead["email"]), "lead-email"),
                        _item(
                            "Phone",
                            rx.cond(S.lead["tel"] != "", rx.link(S.lead["phone"], href=S.lead["tel"]), "—"),
                            "lead-phone",
                        ),
                        _item("Niche", S.lead["niche"]),
                        _item("Level", S.lead["level"]),
                        _item("Price", S.lead["price"], "lead-price"),
                        _item("Providers who received it", S.lead["shared"], "lead-shared"),
                        _item("Received", S.lead["received"]),
                        _item("Submitted", S.lead["submitted"]),
                        orientation=rx.breakpoints(initial="vertical", sm="horizontal"),
                    ),
                    width="100%",
                ),
                rx.heading("What they asked for", size="4"),
                rx.card(
                    rx.data_list.root(
                        rx.foreach(S.fields, lambda f: _item(f["label"], f["value"])),
                        orientation=rx.breakpoints(initial="vertical", sm="horizontal"),
                    ),
                    width="100%",
                    id="lead-fields",
                ),
                _outcome_card(),
                _note_card(),
                _return_card(),
                rx.link("← All leads", href=routes.PROVIDER_LEADS),
                spacing="4",
                width="100%",
            ),
        ),
    )
