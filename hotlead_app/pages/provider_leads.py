"""``/provider/leads``: the leads a provider received, newest first: the consumer's
name, tap-to-call and email links, the answers (labels in the form's order), price,
level, how many providers received the same lead, the latest outcome, the private
note, the return's status (or a link to return it while its window is open); keyset
pages and a CSV export of all of them.  A table on a wide screen, cards on a phone."""

from __future__ import annotations

from datetime import UTC, datetime

import reflex as rx

from hotlead_app import routes
from hotlead_app.components import format as fmt
from hotlead_app.components.backoffice import empty_state
from hotlead_app.components.page import provider_page
from hotlead_app.components.widgets import data_table, download_button, paged_list
from hotlead_app.services.reads import lead_inbox
from hotlead_app.state.events import event
from hotlead_app.state.guards import ProviderPageState, guarded
from hotlead_app.state.paging import KeysetPages

PAGE_SIZE = 25
LEADS_CSV = "/api/v1/provider/leads.csv"
OUTCOME_WORDS = {"contacted": "Contacted", "appointment": "Appointment", "won": "Won", "lost": "Lost"}
NOTE_PREVIEW = 120


def _now() -> datetime:
    return datetime.now(UTC)


def inbox_row(r: lead_inbox.InboxLead, now: datetime) -> dict[str, str]:
    """One lead as the list shows it (strings only)."""
    outcome = r["latest_outcome"]
    note = r["note"]
    return {
        "lead_id": r["lead_id"],
        "href": f"{routes.PROVIDER_LEADS}/{r['lead_id']}",
        "when": fmt.when(r["assigned_at"]),
        "niche": r["niche_name"],
        "level": r["level"],
        "price": fmt.money(r["charged_amount"]),
        "shared": str(r["shared_with"]),
        "shared_text": "Only you" if r["shared_with"] == 1 else f"{r['shared_with']} providers",
        "name": r["name"],
        "email": r["email"],
        "phone": fmt.phone(r["phone"]),
        "tel": fmt.phone_href(r["phone"]),
        "answers": fmt.answers_text(r["niche_fields"], r["payload"]),
        "refunded": "refunded" if r["is_refunded"] else "",
        "outcome": OUTCOME_WORDS.get(outcome["outcome"], outcome["outcome"]) if outcome else "",
        "note": note if len(note) <= NOTE_PREVIEW else note[: NOTE_PREVIEW - 1] + "…",
        "returned": f"return {r['return_request']['status']}" if r["return_request"] else "",
        "can_return": "yes"
        if not r["return_request"]
        and not r["is_refunded"]
        and datetime.fromisoformat(r["return_window_closes_at"]) > now
        else "",
    }


class ProviderLeadsState(KeysetPages, ProviderPageState):
    rows: rx.Field[list[dict[str, str]]] = rx.field(default_factory=list)
    loading: rx.Field[bool] = rx.field(True)

    def _show_page(self, principal, after: list[str] | None):
        rows = lead_inbox.lead_inbox(principal.actor, limit=PAGE_SIZE, after=after or None)
        page = self._take_page(rows, PAGE_SIZE, lambda r: [r["assigned_at"], r["id"]])
        now = _now()
        self.rows = [inbox_row(r, now) for r in page]
        self.loading = False
        return None

    @event
    @guarded
    def load(self, principal):
        return self._first_page(principal)


S = ProviderLeadsState


def _contact(r: dict) -> rx.Component:
    """Name, tap-to-call and email links."""
    return rx.vstack(
        rx.cond(r["name"] != "", rx.text(r["name"], weight="bold", size="2", class_name="lead-name")),
        rx.cond(
            r["tel"] != "",
            rx.link(
                rx.hstack(rx.icon("phone", size=14), rx.text(r["phone"]), spacing="1", align="center"),
                href=r["tel"],
                size="2",
                class_name="lead-tel",
                white_space="nowrap",
            ),
        ),
        rx.link(
            rx.hstack(rx.icon("mail", size=14), rx.text(r["email"]), spacing="1", align="center"),
            href="mailto:" + r["email"],
            size="2",
            class_name="lead-mailto",
            word_break="break-all",
        ),
        spacing="1",
    )


def _badges(r: dict) -> rx.Component:
    return rx.fragment(
        rx.cond(r["refunded"] != "", rx.badge("refunded", color_scheme="amber", ml="1")),
        rx.cond(r["returned"] != "", rx.badge(r["returned"], color_scheme="gray", ml="1")),
    )


def _return_link(r: dict) -> rx.Component:
    return rx.cond(
        r["can_return"] != "",
        rx.link("Return…", href=r["href"], class_name="lead-return", size="2"),
    )


def _row(r: dict) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.link(r["when"], href=r["href"]), white_space="nowrap"),
        rx.table.cell(_contact(r)),
        rx.table.cell(rx.text(r["niche"], size="2"), rx.text(r["level"], size="1", color_scheme="gray")),
        rx.table.cell(rx.text(r["answers"], size="2"), max_width="20em"),
        rx.table.cell(r["price"], _badges(r), white_space="nowrap"),
        rx.table.cell(r["shared"]),
        rx.table.cell(r["outcome"], class_name="lead-outcome"),
        rx.table.cell(rx.text(r["note"], size="1", color_scheme="gray"), class_name="lead-note", max_width="14em"),
        rx.table.cell(_return_link(r)),
        id="lead-" + r["lead_id"],
        class_name="lead-row",
    )


def _card(r: dict) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.link(rx.text(r["niche"], " · ", r["level"], weight="bold", size="2"), href=r["href"]),
                rx.spacer(),
                rx.text(r["price"], weight="bold", size="2"),
                width="100%",
                align="center",
            ),
            _contact(r),
            rx.cond(r["answers"] != "", rx.text(r["answers"], size="2", class_name="lead-answers")),
            rx.flex(
                rx.text(r["when"], size="1", color_scheme="gray"),
                rx.badge(r["shared_text"], color_scheme="gray", variant="soft"),
                rx.cond(r["outcome"] != "", rx.badge(r["outcome"], color_scheme="green", class_name="lead-outcome")),
                _badges(r),
                wrap="wrap",
                spacing="2",
                align="center",
            ),
            rx.cond(
                r["note"] != "",
                rx.text("Note: ", r["note"], size="1", color_scheme="gray", class_name="lead-note"),
            ),
            rx.hstack(
                rx.link("Open", href=r["href"], size="2", class_name="lead-open"),
                _return_link(r),
                spacing="4",
            ),
            spacing="2",
            width="100%",
        ),
        width="100%",
        id="lead-card-" + r["lead_id"],
        class_name="lead-card",
    )


@provider_page(
    route=routes.PROVIDER_LEADS,
    title="Leads",
    on_load=S.load,
    actions=lambda: download_button("Export CSV", LEADS_CSV, "leads.csv", "export-leads"),
)
def provider_leads() -> rx.Component:
    headers = ["Received", "Contact", "Niche", "Answers", "Price", "Providers", "Outcome", "Note", ""]
    return paged_list(
        S,
        S.rows,
        rx.box(
            rx.box(data_table(headers, S.rows, _row), display=rx.breakpoints(initial="none", md="block")),
            rx.vstack(
                rx.foreach(S.rows, _card),
                spacing="3",
                width="100%",
                display=rx.breakpoints(initial="flex", md="none"),
                id="lead-cards",
            ),
            width="100%",
        ),
        rx.vstack(
            empty_state("No leads yet: they appear here as soon as one matches your subscriptions.", id="leads-empty"),
            rx.hstack(
                rx.link("Your subscriptions →", href=routes.PROVIDER_SUBSCRIPTIONS),
                rx.link("Why didn't I get a lead? →", href=routes.PROVIDER_MISSED),
                wrap="wrap",
                spacing="4",
            ),
            spacing="2",
        ),
    )
