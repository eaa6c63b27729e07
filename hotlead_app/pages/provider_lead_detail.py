"""``/provider/leads/[lead_id]``: one lead the provider received — contact details,
every field, price, level, how many providers share it, refund."""

from __future__ import annotations

import uuid

import reflex as rx

from hotlead_app import routes
from hotlead_app.components import format as fmt
from hotlead_app.components.page import provider_page
from hotlead_app.components.widgets import loading_or
from hotlead_app.domain.errors import DomainError
from hotlead_app.services.reads import lead_detail
from hotlead_app.state.events import event
from hotlead_app.state.fields import ObjectField, object_field
from hotlead_app.state.guards import ProviderPageState, guarded


class ProviderLeadState(ProviderPageState):
    lead: ObjectField[dict[str, str]] = object_field(dict)
    fields: rx.Field[list[dict[str, str]]] = rx.field(default_factory=list)
    loading: rx.Field[bool] = rx.field(True)
    missing: rx.Field[bool] = rx.field(False)

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
            "email": data["email"],
            "phone": data["phone"] or "",
            "niche": data["niche"],
            "level": data["level"],
            "price": data["charged_amount"],
            "shared": str(data["providers_on_lead"]),
            "received": fmt.when(data["assigned_at"]),
            "submitted": fmt.when(data["created_at"]),
            "refund": (
                f"Refunded {fmt.when(data['refunded_at'])}: {data['refund_reason'] or ''}"
                if data["is_refunded"]
                else ""
            ),
        }
        self.fields = data["fields"]
        self.loading = False


S = ProviderLeadState


def _item(label: str, value, id: str | None = None) -> rx.Component:
    return rx.data_list.item(rx.data_list.label(label), rx.data_list.value(value, id=id))


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
                        _item("Email", rx.link(S.lead["email"], href="mailto:" + S.lead["email"]), "lead-email"),
                        _item("Phone", S.lead["phone"], "lead-phone"),
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
                rx.link("← All leads", href=routes.PROVIDER_LEADS),
                spacing="4",
                width="100%",
            ),
        ),
    )
