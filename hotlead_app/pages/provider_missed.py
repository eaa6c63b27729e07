"""``/provider/missed``: "why didn't I get this lead?" — recent leads of the niches
the provider subscribes to that it did not receive, each with the reason for each of
its subscriptions.  No contact details; only the fields its own filters use."""

from __future__ import annotations

import uuid

import reflex as rx

from hotlead_app import routes
from hotlead_app.components import format as fmt
from hotlead_app.components.backoffice import empty_state
from hotlead_app.components.page import provider_page
from hotlead_app.components.widgets import paged_list
from hotlead_app.services.reads import missed_leads, subscriptions
from hotlead_app.state.events import event
from hotlead_app.state.guards import ProviderPageState, guarded
from hotlead_app.state.paging import KeysetPages

PAGE_SIZE = missed_leads.MISSED_PAGE

#: What the provider can do about a reason: the link's words, and where it goes.
EDIT_SUBSCRIPTION = ("subscription_paused", "before_subscription", "filter_mismatch", "outside_schedule", "cap_reached")


def fix_link(reason: dict) -> dict[str, str]:
    """``{"href", "link"}`` of the page that changes what the reason names (the
    subscription's filters, schedule or caps; the balance; the spend caps), or empty."""
    code = reason["reason"].partition(":")[0]
    if code in EDIT_SUBSCRIPTION and reason["subscription_id"]:
        words = "Edit this filter" if code == "filter_mismatch" else "Edit this subscription"
        return {"href": f"{routes.PROVIDER_SUBSCRIPTIONS}?edit={reason['subscription_id']}", "link": words}
    if code == "insufficient_balance":
        return {"href": routes.PROVIDER_FUNDS, "link": "Add funds"}
    if code == "spend_cap_reached":
        return {"href": routes.PROVIDER_HOME + "#provider-settings", "link": "Change your spend caps"}
    if code == "no_subscription":
        return {"href": routes.PROVIDER_SUBSCRIPTIONS, "link": "See your subscriptions"}
    return {"href": "", "link": ""}


class ProviderMissedState(KeysetPages, ProviderPageState):
    rows: rx.Field[list[dict[str, str]]] = rx.field(default_factory=list)
    reasons: rx.Field[list[dict[str, str]]] = rx.field(default_factory=list)  # flattened: lead_id, level, text
    loading: rx.Field[bool] = rx.field(True)
    reasons_loading: rx.Field[bool] = rx.field(False)
    has_subscriptions: rx.Field[bool] = rx.field(True)

    def _show_page(self, principal, after: list[str] | None):
        # The list first (one query); the reasons, read from the history, next.
        rows = missed_leads.missed_leads(principal.actor, limit=PAGE_SIZE, after=after or None, with_reasons=False)
        page = self._take_page(rows, PAGE_SIZE, lambda r: [r["created_at"], r["lead_id"]])
        self.rows = [
            {
                "lead_id": r["lead_id"],
                "when": fmt.when(r["created_at"]),
                "niche": r["niche"],
                "fields": " · ".join(f"{label}: {value}" for label, value in r["answers"]),
            }
            for r in page
        ]
        self.reasons = []
        self.reasons_loading = bool(page)
        self.loading = False
        return ProviderMissedState.load_reasons if page else None

    @event
    @guarded
    def load_reasons(self, principal):
        found = missed_leads.missed_reasons(principal.actor, lead_ids=[uuid.UUID(r["lead_id"]) for r in self.rows])
        self.reasons = [
            {
                "lead_id": r["lead_id"],
                "level": x["level"],
                "text": fmt.why_not(x),
                "reason": x["reason"],
                **fix_link(x),
            }
            for r in self.rows
            for x in found.get(r["lead_id"], [])
        ]
        self.reasons_loading = False

    @event
    @guarded
    def load(self, principal):
        self.has_subscriptions = bool(subscriptions.provider_subscriptions(principal.actor))
        return self._first_page(principal)


S = ProviderMissedState


def _card(r: dict) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.text(r["niche"], weight="bold"),
                rx.text(r["when"], size="2", color_scheme="gray"),
                wrap="wrap",
                spacing="3",
            ),
            rx.cond(r["fields"] != "", rx.text(r["fields"], size="2", class_name="missed-fields")),
            rx.cond(
                S.reasons_loading,
                rx.hstack(rx.spinner(size="1"), rx.text("Finding out why…", size="2", color_scheme="gray")),
            ),
            rx.foreach(
                S.reasons,
                lambda x: rx.cond(
                    x["lead_id"] == r["lead_id"],
                    rx.hstack(
                        rx.cond(x["level"] != "", rx.badge(x["level"], color_scheme="gray")),
                        rx.text(x["text"], size="2"),
                        rx.cond(x["href"] != "", rx.link(x["link"], href=x["href"], size="2", class_name="missed-fix")),
                        spacing="2",
                        align="center",
                        wrap="wrap",
                        class_name="missed-reason",
                        custom_attrs={"data-reason": x["reason"]},
                    ),
                ),
            ),
            spacing="2",
        ),
        width="100%",
        id="missed-" + r["lead_id"],
        class_name="missed-lead",
    )


@provider_page(route=routes.PROVIDER_MISSED, title="Missed leads", on_load=S.load)
def provider_missed() -> tuple[rx.Component, ...]:
    return (
        rx.text(
            "Leads of the last 30 days in your niches that you did not receive, and why: as things stood "
            "when each was distributed, or as things stand now for a lead nobody has bought yet. "
            "Contact details stay with the providers who received them.",
            size="2",
            color_scheme="gray",
            margin_bottom="1em",
        ),
        paged_list(
            S,
            S.rows,
            rx.foreach(S.rows, _card),
            rx.cond(
                S.has_subscriptions,
                empty_state("No missed leads in the last 30 days.", id="missed-empty"),
                rx.callout(
                    rx.text(
                        "No subscriptions yet, so no lead can come your way. ",
                        rx.link("Create your first subscription", href=routes.PROVIDER_SUBSCRIPTIONS + "?new=1"),
                        " to start receiving leads.",
                    ),
                    icon="info",
                    id="missed-empty",
                ),
            ),
            spacing="3",
        ),
    )
