"""``/admin/niches``: niches (their public form, open or closed) and, per niche, its
competition levels.  The form editor builds the field list row by row (no JSON)."""

from __future__ import annotations

import dataclasses
import re
import uuid

import reflex as rx

from hotlead_app import routes
from hotlead_app.components.backoffice import admin_layout, empty_state
from hotlead_app.components.layout import field_error
from hotlead_app.components.widgets import confirm_dialog, data_table, loading_or
from hotlead_app.domain.actors import Actor
from hotlead_app.domain.errors import DomainError, InvalidInput
from hotlead_app.domain.forms import FIELD_TYPES, validate_form_fields
from hotlead_app.services import catalog
from hotlead_app.services.reads import niches as niche_reads
from hotlead_app.state.guards import AdminPageState, guarded
from hotlead_app.state.nav import queue_badge

_FIELD_ERROR = re.compile(r"^fields\[(\d+)\]\.?(\w*)$")


@dataclasses.dataclass
class FieldRow:
    name: str = ""
    label: str = ""
    type: str = "text"
    required: bool = False
    options: str = ""  # comma-separated, for a select
    name_error: str = ""
    type_error: str = ""
    options_error: str = ""


def _int_or_raw(value: str):
    """A whole number when the text is one; otherwise the text, for the service to refuse."""
    text = (value or "").strip()
    try:
        return int(text)
    except ValueError:
        return text


class NichesState(AdminPageState):
    niches: list[dict[str, str]] = []
    loading: bool = True
    # The niche editor
    editor_open: bool = False
    edit_id: str = ""
    slug: str = ""
    name: str = ""
    rows: list[FieldRow] = []
    errors: dict[str, str] = {}
    saving: bool = False
    # The levels of one niche
    selected_id: str = ""
    selected_name: str = ""
    levels: list[dict[str, str]] = []
    level_form_open: bool = False
    level_id: str = ""
    lvl_name: str = ""
    lvl_price: str = ""
    lvl_max: str = "1"
    lvl_priority: str = "1"
    lvl_active: bool = True
    level_errors: dict[str, str] = {}

    def _reload(self, actor: Actor) -> None:
        self.niches = [
            {
                "id": n["id"],
                "slug": n["slug"],
                "name": n["name"],
                "active": "yes" if n["active"] else "no",
                "fields": str(len(n["fields"])),
                "href": routes.lead_form(n["slug"]),
            }
            for n in niche_reads.list_niches(actor)
        ]

    @rx.event
    @guarded
    def load(self, principal):
        self.loading = True
        self._reload(principal.actor)
        self.loading = False

    # ----------------------------------------------------------------- niche editor

    @rx.event
    def new_niche(self):
        self.editor_open = True
        self.edit_id = ""
        self.slug = ""
        self.name = ""
        self.rows = [FieldRow(name="zip", label="ZIP code", type="zip", required=True)]
        self.errors = {}

    @rx.event
    @guarded
    def edit_niche(self, principal, niche_id: str):
        try:
            niche = niche_reads.niche_detail(principal.actor, niche_id=uuid.UUID(niche_id))
        except DomainError as exc:
            return rx.toast.error(exc.message)
        self.editor_open = True
        self.edit_id = niche["id"]
        self.slug = niche["slug"]
        self.name = niche["name"]
        self.rows = [
            FieldRow(
                name=f["name"],
                label=f.get("label") or "",
                type=f["type"],
                required=bool(f.get("required")),
                options=", ".join(f.get("options") or []),
            )
            for f in niche["fields"]
        ]
        self.errors = {}

    @rx.event
    def close_editor(self):
        self.editor_open = False
        self.errors = {}

    @rx.event
    def set_slug(self, value: str):
        self.slug = value

    @rx.event
    def set_name(self, value: str):
        self.name = value

    @rx.event
    def add_form_field(self):
        self.rows = [*self.rows, FieldRow()]

    @rx.event
    def remove_form_field(self, index: int):
        self.rows = [r for i, r in enumerate(self.rows) if i != index]

    @rx.event
    def move_field(self, index: int, delta: int):
        target = index + delta
        if 0 <= index < len(self.rows) and 0 <= target < len(self.rows):
            rows = list(self.rows)
            rows[index], rows[target] = rows[target], rows[index]
            self.rows = rows

    @rx.event
    def set_row_text(self, index: int, key: str, value: str):
        if 0 <= index < len(self.rows) and key in ("name", "label", "type", "options"):
            rows = list(self.rows)
            rows[index] = dataclasses.replace(
                rows[index], **{key: value, f"{key}_error": ""} if key != "label" else {key: value}
            )
            self.rows = rows

    @rx.event
    def set_row_required(self, index: int, value: bool):
        if 0 <= index < len(self.rows):
            rows = list(self.rows)
            rows[index] = dataclasses.replace(rows[index], required=bool(value))
            self.rows = rows

    def _fields(self) -> list[dict]:
        fields = []
        for row in self.rows:
            field = {
                "name": row.name.strip(),
                "label": row.label.strip() or row.name.strip(),
                "type": row.type,
                "required": row.required,
            }
            if row.type == "select":
                field["options"] = [o.strip() for o in row.options.split(",") if o.strip()]
            fields.append(field)
        return fields

    def _show_errors(self, details: dict) -> None:
        errors: dict[str, str] = {}
        rows = [dataclasses.replace(r, name_error="", type_error="", options_error="") for r in self.rows]
        for key, message in details.items():
            match = _FIELD_ERROR.match(key)
            if match and int(match.group(1)) < len(rows):
                index, part = int(match.group(1)), match.group(2) or "name"
                attr = f"{part}_error" if part in ("name", "type", "options") else "name_error"
                rows[index] = dataclasses.replace(rows[index], **{attr: str(message)})
            else:
                errors[key] = str(message)
        self.rows = rows
        self.errors = errors

    @rx.event
    @guarded
    def save_niche(self, principal):
        self.saving = True
        yield
        try:
            if self.edit_id:
                niche = catalog.update_niche(
                    niche_id=uuid.UUID(self.edit_id),
                    actor=principal.actor,
                    values={"name": self.name, "fields": self._fields()},
                )
                done = f"Saved {niche.name}."
            else:
                niche = catalog.create_niche(
                    slug=self.slug.strip(), name=self.name, fields=self._fields(), actor=principal.actor
                )
                done = f"Created {niche.name}: its form is at {routes.lead_form(niche.slug)}."
        except InvalidInput as exc:
            details = dict(exc.details)
            if not any(key.startswith("fields") for key in details):
                # The slug and name are checked first: say what is wrong with the fields too.
                try:
                    validate_form_fields(self._fields())
                except InvalidInput as fields_exc:
                    details.update(fields_exc.details)
            self._show_errors(details)
            self.saving = False
            yield rx.toast.error(exc.message)
            return
        except DomainError as exc:
            # A slug already taken is the only conflict here: say it next to the slug.
            self._show_errors({"slug": exc.message} if "slug" in exc.details else {"form": exc.message})
            self.saving = False
            yield rx.toast.error(exc.message)
            return
        self.saving = False
        self.errors = {}
        self.editor_open = False
        self._reload(principal.actor)
        yield rx.toast.success(done)

    @rx.event
    @guarded
    def set_niche_active(self, principal, niche_id: str, active: bool):
        try:
            niche = catalog.update_niche(niche_id=uuid.UUID(niche_id), actor=principal.actor, values={"active": active})
        except DomainError as exc:
            return rx.toast.error(exc.message)
        self._reload(principal.actor)
        return rx.toast.success(f"{niche.name} is {'open again' if active else 'closed'}.")

    # ----------------------------------------------------------------- levels

    def _reload_levels(self) -> None:
        self.levels = [
            {
                "id": str(lvl.id),
                "name": lvl.name,
                "price": f"{lvl.price_per_lead:.2f}",
                "max": str(lvl.max_providers),
                "priority": str(lvl.priority_order),
                "active": "yes" if lvl.active else "no",
            }
            for lvl in catalog.list_levels(niche_id=uuid.UUID(self.selected_id))
        ]

    @rx.event
    @guarded
    def show_levels(self, principal, niche_id: str):
        match = next((n for n in self.niches if n["id"] == niche_id), None)
        if match is None:
            return rx.toast.error("No such niche.")
        self.selected_id = niche_id
        self.selected_name = match["name"]
        self.level_form_open = False
        self._reload_levels()

    @rx.event
    def new_level(self):
        self.level_form_open = True
        self.level_id = ""
        self.lvl_name = ""
        self.lvl_price = ""
        self.lvl_max = "1"
        self.lvl_priority = str(len(self.levels) + 1)
        self.lvl_active = True
        self.level_errors = {}

    @rx.event
    def edit_level(self, level_id: str):
        level = next((x for x in self.levels if x["id"] == level_id), None)
        if level is None:
            return rx.toast.error("No such level.")
        self.level_form_open = True
        self.level_id = level_id
        self.lvl_name = level["name"]
        self.lvl_price = level["price"]
        self.lvl_max = level["max"]
        self.lvl_priority = level["priority"]
        self.lvl_active = level["active"] == "yes"
        self.level_errors = {}

    @rx.event
    def close_level_form(self):
        self.level_form_open = False
        self.level_errors = {}

    @rx.event
    def set_lvl_name(self, value: str):
        self.lvl_name = value

    @rx.event
    def set_lvl_price(self, value: str):
        self.lvl_price = value

    @rx.event
    def set_lvl_max(self, value: str):
        self.lvl_max = value

    @rx.event
    def set_lvl_priority(self, value: str):
        self.lvl_priority = value

    @rx.event
    def set_lvl_active(self, value: bool):
        self.lvl_active = bool(value)

    @rx.event
    @guarded
    def save_level(self, principal):
        values = {
            "name": self.lvl_name,
            "price_per_lead": self.lvl_price.strip(),
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
        self._reload_levels()
        return rx.toast.success(f"Saved level {level.name} at {level.price_per_lead:.2f} per lead.")


# --------------------------------------------------------------------------- components

S = NichesState


def _labelled(label: str, control: rx.Component, error, html_for: str) -> rx.Component:
    return rx.box(
        rx.text(label, as_="label", html_for=html_for, size="2", weight="medium"),
        control,
        field_error(error),
        width="100%",
    )


def _field_row(row: FieldRow, index) -> rx.Component:
    return rx.card(
        rx.flex(
            rx.box(
                rx.text("Name", as_="label", size="1", html_for=f"field-{index}-name"),
                rx.input(
                    value=row.name,
                    on_change=lambda v: S.set_row_text(index, "name", v),
                    id=f"field-{index}-name",
                    placeholder="roof_type",
                    width="100%",
                ),
                field_error(row.name_error),
                flex="1 1 10em",
            ),
            rx.box(
                rx.text("Label", as_="label", size="1", html_for=f"field-{index}-label"),
                rx.input(
                    value=row.label,
                    on_change=lambda v: S.set_row_text(index, "label", v),
                    id=f"field-{index}-label",
                    placeholder="Roof type",
                    width="100%",
                ),
                flex="1 1 10em",
            ),
            rx.box(
                rx.text("Type", as_="label", size="1", html_for=f"field-{index}-type"),
                rx.el.select(
                    *[rx.el.option(t, value=t) for t in FIELD_TYPES],
                    value=row.type,
                    on_change=lambda v: S.set_row_text(index, "type", v),
                    id=f"field-{index}-type",
                    style={"width": "100%", "padding": "0.4em"},
                ),
                field_error(row.type_error),
                flex="0 1 8em",
            ),
            rx.cond(
                row.type == "select",
                rx.box(
                    rx.text("Options (comma-separated)", as_="label", size="1", html_for=f"field-{index}-options"),
                    rx.input(
                        value=row.options,
                        on_change=lambda v: S.set_row_text(index, "options", v),
                        id=f"field-{index}-options",
                        placeholder="asphalt, metal, tile",
                        width="100%",
                    ),
                    field_error(row.options_error),
                    flex="2 1 14em",
                ),
            ),
            rx.flex(
                rx.checkbox(
                    "Required",
                    checked=row.required,
                    on_change=lambda v: S.set_row_required(index, v),
                    id=f"field-{index}-required",
                ),
                rx.icon_button(
                    rx.icon("arrow_up"),
                    size="1",
                    variant="soft",
                    aria_label="Move up",
                    on_click=S.move_field(index, -1),
                    disabled=index == 0,
                ),
                rx.icon_button(
                    rx.icon("arrow_down"),
                    size="1",
                    variant="soft",
                    aria_label="Move down",
                    on_click=S.move_field(index, 1),
                    disabled=index == S.rows.length() - 1,
                ),
                rx.icon_button(
                    rx.icon("trash_2"),
                    size="1",
                    variant="soft",
                    color_scheme="red",
                    aria_label="Remove field",
                    on_click=S.remove_form_field(index),
                ),
                spacing="2",
                align="center",
            ),
            wrap="wrap",
            spacing="3",
            align="end",
        ),
        width="100%",
        class_name="field-row",
    )


def _niche_editor() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading(rx.cond(S.edit_id != "", "Edit niche", "New niche"), size="4"),
            rx.flex(
                _labelled(
                    "Slug (its public address /n/…)",
                    rx.input(
                        value=S.slug,
                        on_change=S.set_slug,
                        id="niche-slug",
                        placeholder="roofing",
                        disabled=S.edit_id != "",
                        width="100%",
                    ),
                    S.errors.get("slug", ""),
                    "niche-slug",
                ),
                _labelled(
                    "Name",
                    rx.input(value=S.name, on_change=S.set_name, id="niche-name", placeholder="Roofing", width="100%"),
                    S.errors.get("name", ""),
                    "niche-name",
                ),
                wrap="wrap",
                spacing="3",
                width="100%",
            ),
            rx.text("Form fields (email and phone are always asked)", size="2", weight="medium"),
            rx.cond(
                S.edit_id != "",
                rx.text(
                    "Changes apply to new requests. A subscription that filters on a field you remove "
                    "or rename stops matching.",
                    size="1",
                    color_scheme="gray",
                ),
            ),
            rx.foreach(S.rows, _field_row),
            field_error(S.errors.get("fields", "")),
            field_error(S.errors.get("form", "")),
            rx.flex(
                rx.button("Add field", variant="soft", on_click=S.add_form_field, id="add-field"),
                rx.spacer(),
                rx.button("Cancel", variant="ghost", on_click=S.close_editor),
                rx.button("Save niche", on_click=S.save_niche, loading=S.saving, id="save-niche"),
                spacing="3",
                width="100%",
                wrap="wrap",
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
        id="niche-editor",
    )


def _deactivate_button(niche: dict) -> rx.Component:
    return confirm_dialog(
        "Close " + niche["name"] + "?",
        "Its public form stops taking requests and its providers receive no new leads from it. "
        "You can open it again later.",
        trigger=rx.button("Close", size="1", variant="soft", color_scheme="red"),
        confirm=rx.button("Close niche", color_scheme="red", on_click=S.set_niche_active(niche["id"], False)),
        cancel_color=None,
        close_on_confirm=True,
    )


def _niche_row(niche: dict) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.link(niche["name"], href=niche["href"])),
        rx.table.cell(niche["slug"]),
        rx.table.cell(
            rx.cond(
                niche["active"] == "yes",
                rx.badge("open", color_scheme="green"),
                rx.badge("closed", color_scheme="gray"),
            )
        ),
        rx.table.cell(niche["fields"]),
        rx.table.cell(
            rx.flex(
                rx.button("Edit", size="1", variant="soft", on_click=S.edit_niche(niche["id"])),
                rx.button("Levels", size="1", variant="soft", on_click=S.show_levels(niche["id"])),
                rx.cond(
                    niche["active"] == "yes",
                    _deactivate_button(niche),
                    rx.button(
                        "Open",
                        size="1",
                        variant="soft",
                        color_scheme="green",
                        on_click=S.set_niche_active(niche["id"], True),
                    ),
                ),
                spacing="2",
                wrap="wrap",
            )
        ),
        id="niche-" + niche["slug"],
    )


def _level_row(level: dict) -> rx.Component:
    return rx.table.row(
        rx.table.cell(level["name"]),
        rx.table.cell(level["price"]),
        rx.table.cell(level["max"]),
        rx.table.cell(level["priority"]),
        rx.table.cell(
            rx.cond(
                level["active"] == "yes",
                rx.badge("active", color_scheme="green"),
                rx.badge("inactive", color_scheme="gray"),
            )
        ),
        rx.table.cell(rx.button("Edit", size="1", variant="soft", on_click=S.edit_level(level["id"]))),
        id="level-" + level["id"],
    )


def _level_form() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading(rx.cond(S.level_id != "", "Edit level", "New level"), size="3"),
            rx.flex(
                _labelled(
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
                _labelled(
                    "Price per lead",
                    rx.input(
                        value=S.lvl_price,
                        on_change=S.set_lvl_price,
                        id="level-price",
                        placeholder="25.00",
                        input_mode="decimal",
                        width="100%",
                    ),
                    S.level_errors.get("price_per_lead", ""),
                    "level-price",
                ),
                _labelled(
                    "Max providers",
                    rx.input(
                        value=S.lvl_max, on_change=S.set_lvl_max, id="level-max", input_mode="numeric", width="100%"
                    ),
                    S.level_errors.get("max_providers", ""),
                    "level-max",
                ),
                _labelled(
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


def _levels() -> rx.Component:
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
            data_table(("Level", "Price", "Max providers", "Priority", "Status", ""), S.levels, _level_row),
            empty_state(
                "No competition level yet: providers cannot subscribe to this niche until it has one.",
                id="levels-empty",
            ),
        ),
        spacing="3",
        width="100%",
        id="levels",
    )


@rx.page(route=routes.ADMIN_NICHES, title="Niches | Find Me A Hot Lead", on_load=NichesState.load)
def admin_niches() -> rx.Component:
    return admin_layout(
        rx.vstack(
            rx.cond(S.editor_open, _niche_editor()),
            loading_or(
                S.loading,
                rx.cond(
                    S.niches.length() > 0,
                    data_table(("Niche", "Slug", "Status", "Fields", ""), S.niches, _niche_row),
                    empty_state("No niche yet: create the first one.", id="niches-empty"),
                ),
            ),
            rx.cond(S.selected_id != "", _levels()),
            spacing="4",
            width="100%",
        ),
        title="Niches",
        on_sign_out=NichesState.sign_out,
        queue_badge=queue_badge(),
        actions=rx.button("New niche", on_click=NichesState.new_niche, id="new-niche"),
    )
