"""``/provider/integrations``: the provider's webhook endpoints (add one and see its
signing secret once, send a test event, turn it off or on, delete it) and the delivery
log of one endpoint (each delivery's attempts with status, latency and error;
redeliver).  Every action calls ``services/webhooks.py``, as the API does."""

from __future__ import annotations

import json
import uuid

import reflex as rx

from hotlead_app import routes
from hotlead_app.components import format as fmt
from hotlead_app.components.backoffice import empty_state
from hotlead_app.components.page import provider_page
from hotlead_app.components.widgets import confirm_dialog, data_table, loading_or, shown_once
from hotlead_app.domain.errors import DomainError, InvalidInput
from hotlead_app.services import webhooks
from hotlead_app.state.events import event
from hotlead_app.state.guards import ProviderPageState, guarded

LOG_LIMIT = 50


def _attempt_text(a: dict) -> str:
    outcome = f"HTTP {a['status_code']}" if a["status_code"] is not None else (a["error"] or "no answer")
    if a["status_code"] is not None and a["error"] and a["error"] != f"HTTP {a['status_code']}":
        outcome += f" ({a['error']})"
    return f"{fmt.when(a['attempted_at'], seconds=True)} · {outcome} · {a['latency_ms']} ms"


class ProviderIntegrationsState(ProviderPageState):
    endpoints: rx.Field[list[dict[str, str]]] = rx.field(default_factory=list)
    loading: rx.Field[bool] = rx.field(True)
    url: rx.Field[str] = rx.field("")
    description: rx.Field[str] = rx.field("")
    url_error: rx.Field[str] = rx.field("")
    description_error: rx.Field[str] = rx.field("")
    new_secret: rx.Field[str] = rx.field("")
    log_endpoint_id: rx.Field[str] = rx.field("")
    log_endpoint_url: rx.Field[str] = rx.field("")
    deliveries: rx.Field[list[dict[str, str]]] = rx.field(default_factory=list)

    def _reload(self, principal) -> None:
        self.endpoints = [
            {
                "id": str(e.id),
                "url": e.url,
                "description": e.description,
                "active": "yes" if e.active else "",
                "status": "active"
                if e.active
                else (f"disabled after {e.consecutive_failures} failures" if e.disabled_at else "off"),
                "created": fmt.when(e.created_at),
            }
            for e in webhooks.list_endpoints(actor=principal.actor)
        ]
        if self.log_endpoint_id and self.log_endpoint_id not in {e["id"] for e in self.endpoints}:
            self.log_endpoint_id, self.log_endpoint_url, self.deliveries = "", "", []
        if self.log_endpoint_id:
            self._reload_log(principal)

    def _reload_log(self, principal) -> None:
        rows = webhooks.list_deliveries(
            actor=principal.actor, endpoint_id=uuid.UUID(self.log_endpoint_id), limit=LOG_LIMIT
        )[:LOG_LIMIT]
        self.deliveries = [
            {
                "id": d["id"],
                "type": d["type"],
                "status": d["status"],
                "created": fmt.when(d["created_at"], seconds=True),
                "lead": (d["body"].get("data") or {}).get("lead_id", "") or "",
                "attempts": str(len(d["attempts"])),
                "history": "\n".join(_attempt_text(a) for a in d["attempts"]) or "not tried yet",
                "body": json.dumps(d["body"], indent=2),
            }
            for d in rows
        ]

    @event
    @guarded
    def load(self, principal):
        self.new_secret = ""
        self._reload(principal)
        self.loading = False

    @event
    def set_url(self, value: str):
        self.url = value
        self.url_error = ""

    @event
    def set_description(self, value: str):
        self.description = value
        self.description_error = ""

    @event
    @guarded
    def create(self, principal):
        try:
            made = webhooks.create_endpoint(actor=principal.actor, url=self.url, description=self.description)
        except InvalidInput as exc:
            self.url_error = str(exc.details.get("url", ""))
            self.description_error = str(exc.details.get("description", ""))
            return None
        except DomainError as exc:
            return rx.toast.error(exc.message)
        self.new_secret = made.secret
        self.url, self.description = "", ""
        self._reload(principal)
        return rx.toast.success("Endpoint added: copy its signing secret now, it is not shown again.")

    @event
    def dismiss_secret(self):
        self.new_secret = ""

    @event
    def copy_secret(self):
        return [rx.set_clipboard(self.new_secret), rx.toast.success("Copied.")]

    def _act(self, principal, done: str, action) -> object:
        try:
            action()
        except (ValueError, DomainError) as exc:
            return rx.toast.error(getattr(exc, "message", "Not found."))
        self._reload(principal)
        return rx.toast.success(done)

    @event
    @guarded
    def send_test(self, principal, endpoint_id: str):
        self.log_endpoint_id = endpoint_id
        self.log_endpoint_url = next((e["url"] for e in self.endpoints if e["id"] == endpoint_id), "")
        return self._act(
            principal,
            "Test event sent: it shows in the delivery log below.",
            lambda: webhooks.send_test(actor=principal.actor, endpoint_id=uuid.UUID(endpoint_id)),
        )

    @event
    @guarded
    def set_active(self, principal, endpoint_id: str, active: bool):
        return self._act(
            principal,
            "Endpoint turned on: its pending deliveries resume." if active else "Endpoint turned off.",
            lambda: webhooks.update_endpoint(actor=principal.actor, endpoint_id=uuid.UUID(endpoint_id), active=active),
        )

    @event
    @guarded
    def delete(self, principal, endpoint_id: str):
        return self._act(
            principal,
            "Endpoint deleted.",
            lambda: webhooks.delete_endpoint(actor=principal.actor, endpoint_id=uuid.UUID(endpoint_id)),
        )

    @event
    @guarded
    def show_log(self, principal, endpoint_id: str):
        self.log_endpoint_id = endpoint_id
        self.log_endpoint_url = next((e["url"] for e in self.endpoints if e["id"] == endpoint_id), "")
        try:
            self._reload_log(principal)
        except (ValueError, DomainError):
            self.log_endpoint_id, self.deliveries = "", []

    @event
    @guarded
    def refresh_log(self, principal):
        if self.log_endpoint_id:
            self._reload_log(principal)

    @event
    @guarded
    def redeliver(self, principal, delivery_id: str):
        try:
            webhooks.redeliver(actor=principal.actor, delivery_id=uuid.UUID(delivery_id))
        except (ValueError, DomainError) as exc:
            return rx.toast.error(getattr(exc, "message", "No such delivery."))
        self._reload_log(principal)
        return rx.toast.success("Sent again, with the same id.")


S = ProviderIntegrationsState


def _endpoint_row(e: dict) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.vstack(rx.code(e["url"], word_break="break_all"), rx.text(e["description"], size="1"))),
        rx.table.cell(
            rx.badge(e["status"], color_scheme=rx.cond(e["active"] != "", "green", "gray")), white_space="nowrap"
        ),
        rx.table.cell(e["created"], white_space="nowrap"),
        rx.table.cell(
            rx.flex(
                rx.button("Send test", size="1", variant="soft", on_click=S.send_test(e["id"]), class_name="send-test"),
                rx.button(
                    "Delivery log", size="1", variant="soft", on_click=S.show_log(e["id"]), class_name="show-log"
                ),
                rx.cond(
                    e["active"] != "",
                    rx.button(
                        "Turn off",
                        size="1",
                        variant="soft",
                        color_scheme="gray",
                        on_click=S.set_active(e["id"], False),
                        class_name="turn-off",
                    ),
                    rx.button(
                        "Turn on",
                        size="1",
                        variant="soft",
                        color_scheme="green",
                        on_click=S.set_active(e["id"], True),
                        class_name="turn-on",
                    ),
                ),
                confirm_dialog(
                    "Delete this endpoint?",
                    ("Nothing more is sent to ", rx.code(e["url"]), ". Its delivery log is kept."),
                    trigger=rx.button(
                        "Delete", size="1", color_scheme="red", variant="soft", class_name="delete-endpoint"
                    ),
                    confirm=rx.button(
                        "Delete endpoint", color_scheme="red", on_click=S.delete(e["id"]), class_name="confirm-delete"
                    ),
                    cancel_label="Keep it",
                    close_on_confirm=True,
                ),
                wrap="wrap",
                spacing="2",
            )
        ),
        id="endpoint-" + e["id"],
        class_name="endpoint-row",
    )


def _delivery_row(d: dict) -> rx.Component:
    return rx.table.row(
        rx.table.cell(d["created"], white_space="nowrap"),
        rx.table.cell(rx.code(d["type"])),
        rx.table.cell(
            rx.badge(
                d["status"], color_scheme=rx.match(d["status"], ("delivered", "green"), ("failed", "red"), "amber")
            ),
            class_name="delivery-status",
        ),
        rx.table.cell(rx.text(d["history"], white_space="pre-line", size="1"), class_name="delivery-attempts"),
        rx.table.cell(
            rx.flex(
                rx.popover.root(
                    rx.popover.trigger(rx.button("Body", size="1", variant="ghost")),
                    rx.popover.content(rx.code_block(d["body"], language="json", font_size="0.75em"), max_width="40em"),
                ),
                rx.button("Redeliver", size="1", variant="soft", on_click=S.redeliver(d["id"]), class_name="redeliver"),
                spacing="2",
            )
        ),
        id="delivery-" + d["id"],
        class_name="delivery-row",
    )


@provider_page(route=routes.PROVIDER_INTEGRATIONS, title="Integrations", on_load=S.load)
def provider_integrations() -> tuple[rx.Component, ...]:
    return (
        rx.text(
            "Each lead you receive is POSTed to your endpoints as JSON, signed with the endpoint's secret (header ",
            rx.code("Hotlead-Signature"),
            "; deduplicate by ",
            rx.code("Hotlead-Delivery"),
            "). A 2xx within 10 s delivers it; otherwise it is retried for 24 hours. Up to 5 endpoints.",
            size="2",
            color_scheme="gray",
        ),
        rx.form(
            rx.flex(
                rx.input(
                    placeholder="https://crm.example.com/hotlead",
                    aria_label="Endpoint URL",
                    value=S.url,
                    on_change=S.set_url,
                    id="endpoint-url",
                    max_length=2000,
                    flex="2 1 20em",
                ),
                rx.input(
                    placeholder="Description (optional)",
                    aria_label="Description (optional)",
                    value=S.description,
                    on_change=S.set_description,
                    id="endpoint-description",
                    max_length=500,
                    flex="1 1 12em",
                ),
                rx.button("Add endpoint", type="submit", id="add-endpoint"),
                wrap="wrap",
                spacing="2",
                width="100%",
            ),
            rx.cond(
                S.url_error != "",
                rx.text("URL: ", S.url_error, color_scheme="red", size="1", role="alert", id="url-error"),
            ),
            rx.cond(
                S.description_error != "",
                rx.text("Description: ", S.description_error, color_scheme="red", size="1", role="alert"),
            ),
            on_submit=lambda _: S.create(),
            reset_on_submit=False,
            width="100%",
            margin_y="1em",
        ),
        shown_once(
            "The endpoint's signing secret. Copy it now: it will not be shown again.",
            S.new_secret,
            code_id="new-secret",
            copy_id="copy-secret",
            on_copy=S.copy_secret,
            on_done=S.dismiss_secret,
        ),
        loading_or(
            S.loading,
            rx.cond(
                S.endpoints.length() > 0,
                data_table(["Endpoint", "Status", "Added", ""], S.endpoints, _endpoint_row, id="endpoints"),
                empty_state("No endpoints yet.", id="endpoints-empty"),
            ),
        ),
        rx.cond(
            S.log_endpoint_id != "",
            rx.vstack(
                rx.flex(
                    rx.heading("Delivery log", size="4"),
                    rx.code(S.log_endpoint_url, word_break="break_all"),
                    rx.button("Refresh", size="1", variant="soft", on_click=S.refresh_log, id="refresh-log"),
                    spacing="3",
                    align="center",
                    wrap="wrap",
                ),
                rx.cond(
                    S.deliveries.length() > 0,
                    data_table(
                        ["Made", "Event", "Status", "Attempts", ""], S.deliveries, _delivery_row, id="deliveries"
                    ),
                    empty_state("No deliveries to this endpoint yet.", id="deliveries-empty"),
                ),
                width="100%",
                margin_top="1.5em",
                id="delivery-log",
            ),
        ),
    )
