"""The competition levels of the niche picked in the list: the table, and the form
that creates or edits one."""

from __future__ import annotations

import uuid

import reflex as rx

from hotlead_app.components import format as fmt
from hotlead_app.components.backoffice import empty_state
from hotlead_app.components.layout import field_error
from hotlead_app.domain import money
from hotlead_app.domain.actors import Actor
from hotlead_app.domain.errors import DomainError, InvalidInput
from hotlead_app.pages.admin_niches.field_editor import labelled
from hotlead_app.pages.admin_niches.state import NichesState
from hotlead_app.services import catalog
from hotlead_app.state.events import event
from hotlead_app.state.fields import ObjectField, object_field
from hotlead_app.state.guards import guarded


def _int_or_raw(value: str):
    """A whole number when the text is one; otherwise the text, for the service to refuse."""
    text = (value or "").strip()
    try:
        return int(text)
    except ValueError:
        return text


class Levels(NichesState):
    selected_id: rx.Field[str] = rx.field("")
    selected_name: rx.Field[str] = rx.field("")
    levels: rx.Field[list[dict[str, str]]] = rx.field(default_factory=list)
    level_form_open: rx.Field[bool] = rx.field(False)
    level_id: rx.Field[str] = rx.field("")
    lvl_name: rx.Field[str] = rx.field("")
    lvl_price: rx.Field[str] = rx.field("")
    lvl_max: rx.Field[str] = rx.field("1")
    lvl_priority: rx.Field[str] = rx.field("1")
    lvl_active: rx.Field[bool] = rx.field(True)
    level_errors: ObjectField[dict[str, str]] = object_field(dict)

    def _reload_levels(self, actor: Actor) -> None:
        self.levels = [
            {
                "id": str(lvl.id),
                "name": lvl.name,
                "price": fmt.money(lvl.price_per_lead),
                "price_input": str(lvl.price_per_lead),
                "max": str(lvl.max_providers),
                "priority": str(lvl.priority_order),
                "active": "yes" if lvl.active else "no",
            }
            for lvl in catalog.list_levels(actor, niche_id=uuid.UUID(self.selected_id))
        ]

    @event
    @guarded
    def show_levels(self, principal, niche_id: str):
        match = next((n for n in self.niches if n["id"] == niche_id), None)
        if match is None:
            return rx.toast.error("No such niche.")
        self.selected_id = niche_id
        self.selected_name = match["name"]
        self.level_form_open = False
        self._reload_levels(principal.actor)

    @event
    def new_level(self):
        self.level_form_open = True
        self.level_id = ""
        self.lvl_name = ""
        self.lvl_price = ""
        self.lvl_max = "1"
        self.lvl_priority = str(len(self.levels) + 1)
        self.lvl_active = True
        self.level_errors = {}

    @event
    def edit_level(self, level_id: str):
        level = next((x for x in self.levels if x["id"] == level_id), None)
        if level is None:
            return rx.toast.error("No such level.")
        self.level_form_open = True
        self.level_id = level_id
        self.lvl_name = level["name"]
        self.lvl_price = level["price_input"]
        self.lvl_max = level["max"]
        self.lvl_priority = level["priority"]
        self.lvl_active = level["active"] == "yes"
        self.level_errors = {}

    @event
    def close_level_form(self):
        self.level_form_open = False
        self.level_errors = {}

    @event
    def set_lvl_name(self, value: str):
        self.lvl_name = value

    @event
    def set_lvl_price(self, value: str):
        self.lvl_price = value
        self.level_errors = {k: v for k, v in self.level_errors.items() if k != "price_per_lead"}

    @event
    def set_lvl_max(self, value: str):
        self.lvl_max = value

    @event
    def set_lvl_priority(self, value: str):
        self.lvl_priority = value

    @event
    def set_lvl_active(self, value: bool):
        self.lvl_active = bool(value)

    @event
    @guarded
    def save_level(self, principal):
        try:
            # "$45", "$1,200.50" or "45": read as a person types it (the one parser of typed money).
            price = str(money.parse_typed_money(self.lvl_price, field="price_per_lead"))
        except InvalidInput as exc:
            self.level_errors = {k: str(v) for k, v in exc.details.items()}
            return rx.toast.error("Check the price per lead.")
        values = {
            "name": self.lvl_name,
            "price_per_lead": price,
            "max_providers": _int_or_raw(self.lvl_max),
            "priority_order": _int_or_raw(self.lvl_priority),
            "active": self.lvl_active,
        }
        try:
            if self.level_id:
                level = catalog.update_level(level_id=uuid.UUID(self.level_id), actor=principal.actor, values=values)
            else:
                level = catalog.create_level(niche_id=uuid.UUID(self.selected_id), actor=principal.actor, values=values)
        except DomainError as exc:
            self.level_errors = {k: str(v) for k, v in exc.details.items()} or {"form": exc.message}
            return rx.toast.error(exc.message)
        self.level_errors = {}
        self.level_form_open = False
        self._reload_levels(principal.actor)
        self._reload(principal.actor)  # the niche's level count and warning
        return rx.toast.success(f"Saved level {level.name} at {fmt.money(level.price_per_lead)} per lead.")


S = Levels


def _level_card(level: dict) -> rx.Component:
    """One level as a card: its name, price and limits on the left, Edit on the right;
    on a phone Edit wraps under them (a table put it off-screen at 375 px)."""
    return rx.card(
        rx.flex(
            rx.vstack(
                rx.flex(
                    rx.text(level["name"], weight="medium"),
                    rx.cond(
                        level["active"] == "yes",
                        rx.badge("active", color_scheme="green"),
                        rx.badge("inactive", color_scheme="gray"),
                    ),
                    spacing="2",
                    align="center",
                    wrap="wrap",
                ),
                rx.text(
                    rx.el.span(level["price"], class_name="level-price"),
                    " per lead · at most ",
                    level["max"],
                    rx.cond(level["max"] == "1", " provider", " providers"),
                    " · priority ",
                    level["priority"],
                    size="1",
                    color_scheme="gray",
                ),
                spacing="1",
                flex="1 1 16em",
                min_width="0",
            ),
            rx.button(
                "Edit",
                size="1",
                variant="soft",
                on_click=S.edit_level(level["id"]),
                aria_label="Edit level " + level["name"],
            ),
            spacing="3",
            wrap="wrap",
            align="center",
            width="100%",
        ),
        width="100%",
        id="level-" + level["id"],
        class_name="level-card",
    )


def _level_form() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading(rx.cond(S.level_id != "", "Edit level", "New level"), size="3"),
            rx.flex(
                labelled(
                    "Name",
                    rx.input(
                        value=S.lvl_name,
                        on_change=S.set_lvl_name,
                        id="level-name",
                        placeholder="Exclusive",
                        width="100%",
                    ),
                    S.level_errors.get("name", ""),
                    "level-name",
                ),
                labelled(
                    "Price per lead",
                    rx.input(
                        value=S.lvl_price,
                        on_change=S.set_lvl_price,
                        id="level-price",
                        placeholder="$25.00",
                        input_mode="decimal",
                        width="100%",
                    ),
                    S.level_errors.get("price_per_lead", ""),
                    "level-price",
                ),
                labelled(
                    "Max providers",
                    rx.input(
                        value=S.lvl_max, on_change=S.set_lvl_max, id="level-max", input_mode="numeric", width="100%"
                    ),
                    S.level_errors.get("max_providers", ""),
                    "level-max",
                ),
                labelled(
                    "Priority (lower first)",
                    rx.input(
                        value=S.lvl_priority,
                        on_change=S.set_lvl_priority,
                        id="level-priority",
                        input_mode="numeric",
                        width="100%",
                    ),
                    S.level_errors.get("priority_order", ""),
                    "level-priority",
                ),
                wrap="wrap",
                spacing="3",
                width="100%",
                class_name="level-fields",
            ),
            rx.checkbox("Active", checked=S.lvl_active, on_change=S.set_lvl_active, id="level-active"),
            field_error(S.level_errors.get("form", "")),
            rx.flex(
                rx.spacer(),
                rx.button("Cancel", variant="ghost", on_click=S.close_level_form),
                rx.button("Save level", on_click=S.save_level, id="save-level"),
                spacing="3",
                width="100%",
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
        id="level-form",
    )


def levels_panel() -> rx.Component:
    return rx.vstack(
        rx.flex(
            rx.heading("Competition levels of ", S.selected_name, size="4"),
            rx.spacer(),
            rx.button("New level", size="2", on_click=S.new_level, id="new-level"),
            width="100%",
            wrap="wrap",
            spacing="3",
        ),
        rx.cond(S.level_form_open, _level_form()),
        rx.cond(
            S.levels.length() > 0,
            rx.vstack(rx.foreach(S.levels, _level_card), spacing="2", width="100%", id="level-cards"),
            empty_state(
                "No competition level yet: providers cannot subscribe to this niche until it has one.",
                id="levels-empty",
            ),
        ),
        spacing="3",
        width="100%",
        id="levels",
    )
