"""``/provider/api-keys``: create an API key (shown once, with a copy button), list
them by prefix, revoke one after a confirmation."""

from __future__ import annotations

import uuid

import reflex as rx

from hotlead_app import routes
from hotlead_app.components import format as fmt
from hotlead_app.components.backoffice import empty_state
from hotlead_app.components.page import provider_page
from hotlead_app.components.widgets import confirm_dialog, data_table, loading_or, shown_once
from hotlead_app.domain.errors import DomainError
from hotlead_app.services import auth
from hotlead_app.state.events import event
from hotlead_app.state.guards import ProviderPageState, guarded


class ProviderApiKeysState(ProviderPageState):
    keys: rx.Field[list[dict[str, str]]] = rx.field(default_factory=list)
    loading: rx.Field[bool] = rx.field(True)
    name: rx.Field[str] = rx.field("")
    name_error: rx.Field[str] = rx.field("")
    new_key: rx.Field[str] = rx.field("")

    def _reload(self, provider_id: uuid.UUID) -> None:
        self.keys = [
            {
                "id": str(k.id),
                "name": k.name,
                "prefix": k.prefix + "…",
                "created": fmt.when(k.created_at),
                "last_used": fmt.when(k.last_used_at) or "never",
                "revoked": fmt.when(k.revoked_at),
            }
            for k in auth.list_api_keys(provider_id=provider_id)
        ]

    @event
    @guarded
    def load(self, principal):
        self.new_key = ""
        self._reload(principal.provider_id)
        self.loading = False

    @event
    def set_name(self, value: str):
        self.name = value
        self.name_error = ""

    @event
    @guarded
    def create(self, principal):
        if len(self.name.strip()) > 100:
            self.name_error = "At most 100 characters."
            return
        try:
            created = auth.create_api_key(principal=principal, name=self.name)
        except DomainError as exc:
            return rx.toast.error(exc.message)
        self.new_key = created.key
        self.name = ""
        self._reload(principal.provider_id)
        return rx.toast.success("API key created: copy it now, it is not shown again.")

    @event
    def dismiss_key(self):
        self.new_key = ""

    @event
    def copy_key(self):
        return [rx.set_clipboard(self.new_key), rx.toast.success("Copied.")]

    @event
    @guarded
    def revoke(self, principal, key_id: str):
        try:
            auth.revoke_api_key(principal=principal, key_id=uuid.UUID(key_id))
        except (ValueError, DomainError) as exc:
            return rx.toast.error(getattr(exc, "message", "No such API key."))
        self._reload(principal.provider_id)
        return rx.toast.success("API key revoked: it stops working at once.")


S = ProviderApiKeysState


def _row(k: dict) -> rx.Component:
    return rx.table.row(
        rx.table.cell(k["name"]),
        rx.table.cell(rx.code(k["prefix"])),
        rx.table.cell(k["created"], white_space="nowrap"),
        rx.table.cell(k["last_used"], white_space="nowrap"),
        rx.table.cell(
            rx.cond(
                k["revoked"] != "",
                rx.badge("revoked " + k["revoked"], color_scheme="gray"),
                confirm_dialog(
                    "Revoke this API key?",
                    (
                        "Programs using ",
                        rx.code(k["prefix"]),
                        " (",
                        k["name"],
                        ") will be refused from now on. This cannot be undone.",
                    ),
                    trigger=rx.button("Revoke", size="1", color_scheme="red", variant="soft", class_name="revoke-key"),
                    confirm=rx.button(
                        "Revoke key", color_scheme="red", on_click=S.revoke(k["id"]), class_name="confirm-revoke"
                    ),
                    cancel_label="Keep it",
                    close_on_confirm=True,
                ),
            ),
        ),
        id="key-" + k["id"],
        class_name="key-row",
    )


@provider_page(route=routes.PROVIDER_API_KEYS, title="API keys", on_load=S.load)
def provider_api_keys() -> tuple[rx.Component, ...]:
    headers = ["Name", "Key", "Created", "Last used", ""]
    return (
        rx.text(
            "Use a key as a Bearer token on the REST API (",
            rx.code("Authorization: Bearer <key>"),
            "). Keys are stored hashed: a new key is shown once.",
            size="2",
            color_scheme="gray",
        ),
        rx.form(
            rx.flex(
                rx.input(
                    placeholder="Name, e.g. CRM sync",
                    aria_label="Name of the new key",
                    value=S.name,
                    on_change=S.set_name,
                    id="key-name",
                    max_length=100,
                    flex="1 1 14em",
                ),
                rx.button("Create API key", type="submit", id="create-key"),
                wrap="wrap",
                spacing="2",
                width="100%",
            ),
            rx.cond(S.name_error != "", rx.text(S.name_error, color_scheme="red", size="1", role="alert")),
            on_submit=lambda _: S.create(),
            reset_on_submit=False,
            width="100%",
            margin_y="1em",
        ),
        shown_once(
            "Your new key. Copy it now: it will not be shown again.",
            S.new_key,
            code_id="new-key",
            copy_id="copy-key",
            on_copy=S.copy_key,
            on_done=S.dismiss_key,
        ),
        loading_or(
            S.loading,
            rx.cond(
                S.keys.length() > 0,
                data_table(headers, S.keys, _row, label="API keys"),
                empty_state("No API keys yet.", id="keys-empty"),
            ),
        ),
    )
