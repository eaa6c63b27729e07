"""``/admin/providers``: every provider with its status and balance (paginated), and
creating a provider together with its login."""

from __future__ import annotations

import json

import reflex as rx

from hotlead_app import routes
from hotlead_app.components import format as fmt
from hotlead_app.components.backoffice import empty_state
from hotlead_app.components.layout import field_error
from hotlead_app.components.page import admin_page
from hotlead_app.components.widgets import data_table, labeled_field, paged_list
from hotlead_app.domain.errors import Conflict, DomainError, InvalidInput
from hotlead_app.services import accounts
from hotlead_app.services.reads import providers
from hotlead_app.state.events import event
from hotlead_app.state.fields import ObjectField, object_field
from hotlead_app.state.guards import AdminPageState, guarded
from hotlead_app.state.paging import KeysetPages

PAGE_SIZE = 25


class ProvidersState(KeysetPages, AdminPageState):
    items: rx.Field[list[dict[str, str]]] = rx.field(default_factory=list)
    loading: rx.Field[bool] = rx.field(True)
    form_open: rx.Field[bool] = rx.field(False)
    errors: ObjectField[dict[str, str]] = object_field(dict)
    creating: rx.Field[bool] = rx.field(False)

    def _show_page(self, principal, start: str | None) -> None:
        rows = providers.list_providers(principal.actor, limit=PAGE_SIZE, after=json.loads(start) if start else None)
        shown = self._take_page(rows, PAGE_SIZE, lambda r: json.dumps([r["name"], r["id"]]))
        self.items = [
            {
                "id": r["id"],
                "name": r["name"],
                "email": r["email"],
                "status": fmt.status_word(fmt.PROVIDER_STATUS, r["status"]),
                "reason": r["status_reason"] or "",
                "balance": fmt.money(r["balance"]),
                "href": routes.admin_provider(r["id"]),
                "color": fmt.provider_status_color(r["status"]),
            }
            for r in shown
        ]

    @event
    @guarded
    def load(self, principal):
        self.loading = True
        self._first_page(principal)
        self.loading = False

    @event
    def toggle_form(self):
        self.form_open = not self.form_open
        self.errors = {}

    @event
    @guarded
    def create(self, principal, form_data: dict):
        self.creating = True
        yield
        try:
            provider = accounts.create_provider_account(
                name=form_data.get("name", ""),
                email=form_data.get("email", ""),
                password=form_data.get("password", ""),
                actor=principal.actor,
            )
        except InvalidInput as exc:
            self.errors = {k: str(v) for k, v in exc.details.items()}
            self.creating = False
            yield rx.toast.error(exc.message)
            return
        except Conflict as exc:
            self.errors = {"email": exc.message}
            self.creating = False
            yield rx.toast.error(exc.message)
            return
        except DomainError as exc:
            self.errors = {"form": exc.message}
            self.creating = False
            yield rx.toast.error(exc.message)
            return
        self.creating = False
        self.errors = {}
        self.form_open = False
        yield rx.toast.success(f"Created {provider.name}; it can sign in with {provider.email}.")
        yield rx.redirect(routes.admin_provider(str(provider.id)))


S = ProvidersState


def _input(name: str, label: str, kind: str = "text", hint: str = "") -> rx.Component:
    return labeled_field(
        label,
        rx.input(
            name=name,
            id=f"provider-{name}",
            type=kind,
            width="100%",
            placeholder=hint,
            auto_complete="new-password" if kind == "password" else "off",
        ),
        html_for=f"provider-{name}",
        error=S.errors.get(name, ""),
        flex="1 1 14em",
        weight="medium",
    )


def _create_form() -> rx.Component:
    return rx.card(
        rx.form(
            rx.vstack(
                rx.heading("New provider", size="4"),
                rx.flex(
                    _input("name", "Business name", hint="Acme Roofing"),
                    _input("email", "Login email", "email", "owner@acme.example"),
                    _input("password", "Initial password (8 to 72 bytes)", "password"),
                    wrap="wrap",
                    spacing="3",
                    width="100%",
                ),
                field_error(S.errors.get("form", "")),
                rx.flex(
                    rx.spacer(),
                    rx.button("Cancel", type="button", variant="ghost", on_click=S.toggle_form),
                    rx.button("Create provider", type="submit", loading=S.creating, id="create-provider"),
                    spacing="3",
                    width="100%",
                ),
                spacing="3",
                width="100%",
            ),
            on_submit=S.create,
            reset_on_submit=False,
            no_validate=True,
        ),
        width="100%",
        id="provider-form",
    )


def _row(item: dict) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.link(item["name"], href=item["href"])),
        rx.table.cell(item["email"]),
        rx.table.cell(
            rx.badge(item["status"], color_scheme=item["color"]),
            rx.cond(item["reason"] != "", rx.text(item["reason"], size="1", color_scheme="gray")),
        ),
        rx.table.cell(item["balance"], text_align="right"),
        id="provider-" + item["id"],
    )


@admin_page(
    route=routes.ADMIN_PROVIDERS,
    title="Providers",
    on_load=ProvidersState.load,
    actions=lambda: rx.button("New provider", on_click=ProvidersState.toggle_form, id="new-provider"),
)
def admin_providers() -> rx.Component:
    return rx.vstack(
        rx.cond(S.form_open, _create_form()),
        paged_list(
            S,
            S.items,
            data_table(
                ("Provider", "Email", "Status", rx.table.column_header_cell("Balance", text_align="right")),
                S.items,
                _row,
            ),
            empty_state("No provider yet: create the first one with its login.", id="providers-empty"),
        ),
        spacing="4",
        width="100%",
    )
