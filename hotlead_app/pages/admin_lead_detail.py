"""``/admin/leads/[lead_id]``: one lead — answers, contact, consent evidence,
attribution, assignments, the distribution explanation for every subscription of
its niche, and its history with memos.  Actions: refund one assignment, Global Bad
Lead (the dialog names how much goes back to whom)."""

from __future__ import annotations

import uuid

import reflex as rx

from hotlead_app import routes
from hotlead_app.components import format as fmt
from hotlead_app.components.backoffice import empty_state
from hotlead_app.components.page import admin_page
from hotlead_app.components.widgets import confirm_dialog, data_table, duplicate_badge, loading_or, reason_fields
from hotlead_app.domain.errors import DomainError, NotFound
from hotlead_app.services import leads, refunds
from hotlead_app.services.reads import lead_detail
from hotlead_app.services.reads import niches as niche_reads
from hotlead_app.state.dialogs import ReasonDialog
from hotlead_app.state.events import event
from hotlead_app.state.fields import ObjectField, object_field
from hotlead_app.state.guards import AdminPageState, guarded

#: A column left out on a phone (the table would scroll sideways for it).
NARROW_HIDDEN = rx.breakpoints(initial="none", sm="table-cell")


def _short(value) -> str:
    if value in (None, "", {}, []):
        return ""
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items() if k not in ("id",))[:300]
    return str(value)


class LeadDetailState(ReasonDialog, AdminPageState):
    loading: rx.Field[bool] = rx.field(True)
    explaining: rx.Field[bool] = rx.field(True)
    missing: rx.Field[bool] = rx.field(False)
    info: ObjectField[dict[str, str]] = object_field(dict)
    answers: rx.Field[list[dict[str, str]]] = rx.field(default_factory=list)
    utm: rx.Field[list[dict[str, str]]] = rx.field(default_factory=list)
    assignments: rx.Field[list[dict[str, str]]] = rx.field(default_factory=list)
    explanation: rx.Field[list[dict[str, str]]] = rx.field(default_factory=list)
    history: rx.Field[list[dict[str, str]]] = rx.field(default_factory=list)
    bad_lead_refunds: rx.Field[list[dict[str, str]]] = rx.field(default_factory=list)
    bad_lead_total: rx.Field[str] = rx.field("0.00")
    can_bad_lead: rx.Field[bool] = rx.field(False)
    # Dialogs (ReasonDialog.dialog): "refund" or "bad_lead".
    refund_id: rx.Field[str] = rx.field("")
    refund_text: rx.Field[str] = rx.field("")
    # The niche form's labels (field name -> label): reasons name a field by its label.
    _labels: dict[str, str] = {}

    def _fetch(self, principal) -> bool:
        """The lead without its explanation (the costly part, loaded next)."""
        try:
            lead_id = uuid.UUID(str(self.router.page.params.get("lead_id", "")))
            view = lead_detail.admin_lead(principal.actor, lead_id=lead_id, with_explanation=False)
        except (ValueError, NotFound):
            self.missing = True
            self.loading = False
            return False
        self.missing = False
        self.info = {
            "id": view["id"],
            "status": fmt.status_word(fmt.LEAD_STATUS, view["status"]),
            "status_color": fmt.status_color(fmt.LEAD_STATUS, view["status"]),
            "niche": view["niche_name"] or view["niche"],
            "name": view["name"],
            "email": view["email"],
            "phone": fmt.phone(view["phone"]),
            "received": fmt.when(view["created_at"], seconds=True),
            "confirmed": fmt.when(view["confirmed_at"], seconds=True),
            "distributed": fmt.when(view["distributed_at"], seconds=True),
            "referrer": view["referrer_url"],
            "partner": view["partner"] + (f" ({view['partner_name']})" if view["partner_name"] else ""),
            "consent_version": view["consent_version"],
            "consent_ip": view["consent_ip"],
            "consent_user_agent": view["consent_user_agent"],
            "duplicate_of": view["duplicate_of"] or "",
            "duplicate_href": routes.admin_lead(view["duplicate_of"]) if view["duplicate_of"] else "",
            "duplicate_label": fmt.duplicate_label(view["duplicate_of"]),
            "attempt": (
                f"Nobody could buy it at the latest attempt ({fmt.when_utc(view['attempted_at'])}, "
                f"{view['attempts']} so far; it is tried again every minute). Why, for each subscription:"
                if view["attempted_at"]
                else ""
            ),
        }
        form = next((n["fields"] for n in niche_reads.list_niches(principal.actor) if n["slug"] == view["niche"]), [])
        self.answers = [{"field": label, "value": value} for label, value in fmt.answers(form, view["payload"])]
        self._labels = {str(f.get("name")): str(f.get("label") or f.get("name")) for f in form}
        self.utm = [{"field": k, "value": _short(v)} for k, v in view["utm_params"].items()]
        self.assignments = [
            {
                "id": a["id"],
                "provider": a["provider"],
                "level": a["level"],
                "price": fmt.money(a["price"]),
                "refunded": "yes" if a["refunded"] else "no",
                "refund_reason": a["refund_reason"],
                "when": fmt.when(a["assigned_at"], seconds=True),
                "can_refund": "" if a["refunded"] else "1",
                "provider_href": routes.admin_provider(a["provider_id"]),
            }
            for a in view["assignments"]
        ]
        self.history = [
            {
                "when": fmt.when(h["at"], seconds=True),
                "what": h["action"].replace("_", " ")
                + (" (assignment)" if h["entity_type"] == "lead_assignment" else ""),
                "who": h["actor_role"],
                "reason": h["reason"],
                "memo": h["memo"],
                "change": fmt.status_word(fmt.LEAD_STATUS, _short((h["after"] or {}).get("status")))
                if h["entity_type"] == "lead"
                else "",
            }
            for h in view["history"]
        ]
        self.bad_lead_refunds = [
            {"provider": r["provider"], "amount": fmt.money(r["amount"])} for r in view["bad_lead_refunds"]
        ]
        self.bad_lead_total = fmt.money(view["bad_lead_total"])
        self.can_bad_lead = view["can_bad_lead"]
        self.loading = False
        return True

    def _fetch_explanation(self, principal) -> None:
        rows = lead_detail.explanation(principal.actor, lead_id=uuid.UUID(self.info["id"]))
        # The read lists the chosen first, then the others, each group by level: a
        # heading row opens each (outcome, level) group.
        shown: list[dict[str, str]] = []
        group = None
        for e in rows:
            heading = ("Received it" if e["chosen"] else "Did not receive it") + " · " + e["level"]
            shown.append(
                {
                    "subscription": e["subscription_id"][:8],
                    "provider": e["provider"],
                    "level": e["level"],
                    "reason": self._reason_words(e["reason"], e["reason_text"]),
                    "code": e["reason"],
                    "color": fmt.reason_color(e["reason"]),
                    "chosen": "1" if e["chosen"] else "",
                    "group": heading if heading != group else "",
                }
            )
            group = heading
        self.explanation = shown
        self.explaining = False

    def _reason_words(self, reason: str, words: str) -> str:
        """The explanation's words, naming a filtered field by its label."""
        code, _, field = reason.partition(":")
        if code == "filter_mismatch" and field in self._labels:
            return lead_detail.reason_text(f"{code}:{self._labels[field]}")
        return words

    @event
    @guarded
    def load(self, principal):
        self.loading = True
        self.dialog = ""
        self.explanation = []
        self.explaining = True
        if self._fetch(principal):
            yield  # show the lead now; the explanation follows
            self._fetch_explanation(principal)

    @event
    def open_refund(self, assignment_id: str):
        row = next((a for a in self.assignments if a["id"] == assignment_id), None)
        if row is None:
            return
        self.refund_id = assignment_id
        self.refund_text = f"{row['price']} goes back to {row['provider']}'s balance."
        self.reason_error = ""
        self.dialog = "refund"

    @event
    def open_bad_lead(self):
        self.reason_error = ""
        self.dialog = "bad_lead"

    def _reason(self) -> str | None:
        reason = self.reason.strip()
        if not reason:
            self.reason_error = "Say why: the reason is kept with the refund."
            return None
        return reason

    def _act(self, principal, action, success):
        """The open dialog's action: ``action(reason, memo)`` (a service call) once a
        reason is given; done, the dialog closes, the lead is read again and
        ``success(result)`` is the toast."""
        reason = self._reason()
        if reason is None:
            return None
        self.busy = True
        try:
            result = action(reason, self.memo.strip() or None)
        except DomainError as exc:
            self.busy = False
            return rx.toast.error(exc.message)
        self.busy = False
        self.dialog = ""
        self.reason = ""
        self.memo = ""
        self._fetch(principal)
        return rx.toast.success(success(result))

    @event
    @guarded
    def confirm_refund(self, principal):
        return self._act(
            principal,
            lambda reason, memo: refunds.refund_assignment(
                assignment_id=uuid.UUID(self.refund_id), actor=principal.actor, reason=reason, memo=memo
            ),
            lambda done: f"Refunded {fmt.money(done.amount)}.",
        )

    @event
    @guarded
    def confirm_bad_lead(self, principal):
        total = self.bad_lead_total
        return self._act(
            principal,
            lambda reason, memo: leads.mark_bad_lead(
                lead_id=uuid.UUID(self.info["id"]), actor=principal.actor, reason=reason, memo=memo
            ),
            lambda _: f"Marked as a bad lead; {total} refunded.",
        )


def _kv(label: str, value) -> rx.Component:
    return rx.cond(
        value != "",
        rx.data_list.item(
            rx.data_list.label(label), rx.data_list.value(rx.text(value, style={"overflow_wrap": "anywhere"}))
        ),
    )


def _section(title: str, *children, **props) -> rx.Component:
    return rx.card(rx.vstack(rx.heading(title, size="4"), *children, spacing="2", width="100%"), width="100%", **props)


def _table(headers: list, rows, render, id: str) -> rx.Component:
    return data_table(headers, rows, render, table_id=id)


def _refund_dialog() -> rx.Component:
    s = LeadDetailState
    return confirm_dialog(
        "Refund this assignment?",
        s.refund_text,
        reason_fields(s, "action"),
        confirm=rx.button("Refund", color_scheme="red", on_click=s.confirm_refund, loading=s.busy, id="confirm-refund"),
        description_props={"id": "refund-dialog-text"},
        open=s.dialog == "refund",
        on_open_change=s.set_dialog_open,
    )


def _bad_lead_dialog() -> rx.Component:
    s = LeadDetailState
    return confirm_dialog(
        "Mark as a Global Bad Lead?",
        rx.vstack(
            rx.text(
                "The lead becomes bad_lead for good and every assignment not yet refunded is refunded: ",
                rx.text.strong(s.bad_lead_total),
                " in total.",
            ),
            rx.cond(
                s.bad_lead_refunds.length() > 0,
                rx.unordered_list(
                    rx.foreach(s.bad_lead_refunds, lambda r: rx.list_item(r["amount"] + " to " + r["provider"]))
                ),
                rx.text("Nothing is left to refund."),
            ),
            spacing="2",
        ),
        reason_fields(s, "action"),
        confirm=rx.button(
            "Mark bad and refund " + s.bad_lead_total,
            color_scheme="red",
            on_click=s.confirm_bad_lead,
            loading=s.busy,
            id="confirm-bad-lead",
        ),
        description_props={"id": "bad-lead-dialog-text", "as_child": True},
        open=s.dialog == "bad_lead",
        on_open_change=s.set_dialog_open,
    )


def _assignment_row(a: dict) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.link(a["provider"], href=a["provider_href"])),
        rx.table.cell(a["level"]),
        rx.table.cell(a["price"]),
        rx.table.cell(a["when"]),
        rx.table.cell(
            rx.cond(a["refunded"] == "yes", rx.badge("refunded: " + a["refund_reason"], color_scheme="gray"), "no")
        ),
        rx.table.cell(
            rx.cond(
                a["can_refund"] != "",
                rx.button(
                    "Refund",
                    size="1",
                    variant="soft",
                    color_scheme="red",
                    on_click=LeadDetailState.open_refund(a["id"]),
                    class_name="refund",
                ),
            )
        ),
        id="assignment-" + a["id"],
    )


def _explanation_row(e: dict) -> rx.Component:
    return rx.fragment(
        rx.cond(
            e["group"] != "",
            rx.table.row(
                rx.table.cell(
                    rx.text(e["group"], weight="bold", size="2"),
                    col_span=4,
                    background_color=rx.cond(e["chosen"] != "", "var(--green-3)", "var(--gray-3)"),
                ),
                class_name="explanation-group",
            ),
        ),
        rx.table.row(
            rx.table.cell(e["provider"]),
            rx.table.cell(e["level"]),
            rx.table.cell(rx.text(e["subscription"], font_family="monospace"), display=NARROW_HIDDEN),
            rx.table.cell(rx.badge(e["reason"], color_scheme=e["color"], style={"white_space": "normal"})),
            class_name=rx.cond(e["chosen"] != "", "explanation-row chosen", "explanation-row"),
        ),
    )


def _history_row(h: dict) -> rx.Component:
    return rx.table.row(
        rx.table.cell(h["when"]),
        rx.table.cell(h["what"]),
        rx.table.cell(h["who"]),
        rx.table.cell(h["reason"]),
        rx.table.cell(rx.text(h["memo"], style={"overflow_wrap": "anywhere"})),
    )


def _body() -> rx.Component:
    s = LeadDetailState
    i = s.info
    return rx.vstack(
        rx.flex(
            rx.badge(i["status"], size="3", color_scheme=i["status_color"], id="lead-status"),
            duplicate_badge(i["duplicate_of"], i["duplicate_href"], i["duplicate_label"]),
            rx.spacer(),
            rx.cond(
                s.can_bad_lead,
                rx.button("Global Bad Lead…", color_scheme="red", on_click=s.open_bad_lead, id="bad-lead"),
            ),
            width="100%",
            align="center",
            wrap="wrap",
            spacing="3",
        ),
        rx.grid(
            _section(
                "Lead",
                rx.data_list.root(
                    _kv("Niche", i["niche"]),
                    _kv("Name", i["name"]),
                    _kv("Email", i["email"]),
                    _kv("Phone", i["phone"]),
                    _kv("Received (UTC)", i["received"]),
                    _kv("Confirmed (UTC)", i["confirmed"]),
                    _kv("Distributed (UTC)", i["distributed"]),
                    orientation="vertical",
                    size="2",
                ),
            ),
            _section(
                "Answers",
                rx.cond(
                    s.answers.length() > 0,
                    rx.data_list.root(
                        rx.foreach(s.answers, lambda a: _kv(a["field"], a["value"])),
                        orientation="vertical",
                        size="2",
                        id="lead-answers",
                    ),
                    empty_state("No answers."),
                ),
            ),
            _section(
                "Consent evidence",
                rx.data_list.root(
                    _kv("Consent text version", i["consent_version"]),
                    _kv("IP address", i["consent_ip"]),
                    _kv("Browser", i["consent_user_agent"]),
                    _kv("Confirmed by email (UTC)", i["confirmed"]),
                    orientation="vertical",
                    size="2",
                ),
                id="lead-consent",
            ),
            _section(
                "Attribution",
                rx.data_list.root(
                    _kv("Referrer", i["referrer"]),
                    _kv("Partner", i["partner"]),
                    rx.foreach(s.utm, lambda u: _kv(u["field"], u["value"])),
                    orientation="vertical",
                    size="2",
                ),
                rx.cond(
                    (i["referrer"] == "") & (i["partner"] == "") & (s.utm.length() == 0),
                    empty_state("No referrer, UTM parameters or partner."),
                ),
            ),
            columns=rx.breakpoints(initial="1", sm="2"),
            spacing="3",
            width="100%",
        ),
        _section(
            "Assignments",
            rx.cond(
                s.assignments.length() > 0,
                _table(
                    ["Provider", "Level", "Price", "Assigned (UTC)", "Refunded", ""],
                    s.assignments,
                    _assignment_row,
                    "assignments-table",
                ),
                empty_state("Not sold to anyone (yet)."),
            ),
        ),
        _section(
            "Distribution explanation",
            rx.cond(
                i["attempt"] != "",
                rx.callout(i["attempt"], icon="info", color_scheme="amber", size="1", id="explanation-attempt"),
                rx.text(
                    "Why each subscription of this niche did or did not receive the lead, as things stood when it "
                    "was distributed.",
                    size="2",
                    color_scheme="gray",
                ),
            ),
            rx.cond(
                s.explaining,
                rx.hstack(rx.spinner(), rx.text("Working out the explanation…", size="2"), id="explanation-loading"),
                rx.cond(
                    s.explanation.length() > 0,
                    _table(
                        [
                            "Provider",
                            "Level",
                            rx.table.column_header_cell("Subscription", display=NARROW_HIDDEN),
                            "Outcome",
                        ],
                        s.explanation,
                        _explanation_row,
                        "explanation-table",
                    ),
                    empty_state("Not distributed yet: there is nothing to explain.", id="explanation-empty"),
                ),
            ),
        ),
        _section(
            "History",
            _table(
                ["When (UTC)", "What", "Who", "Reason", "Memo (admins only)"], s.history, _history_row, "history-table"
            ),
        ),
        _refund_dialog(),
        _bad_lead_dialog(),
        spacing="4",
        width="100%",
    )


@admin_page(
    route=routes.ADMIN_LEAD,
    title="Lead",
    on_load=LeadDetailState.load,
    actions=lambda: rx.link("← All leads", href=routes.ADMIN_LEADS),
)
def admin_lead_detail() -> rx.Component:
    s = LeadDetailState
    return loading_or(
        s.loading,
        rx.cond(
            s.missing,
            rx.vstack(empty_state("No such lead.", id="lead-missing"), rx.link("← All leads", href=routes.ADMIN_LEADS)),
            _body(),
        ),
    )
