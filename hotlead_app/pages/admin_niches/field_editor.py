"""A niche's editor: slug, name and its public form's fields, row by row (no JSON),
with each field's error next to it."""

from __future__ import annotations

import dataclasses
import re
import uuid
from typing import Any

import reflex as rx

from hotlead_app import routes
from hotlead_app.components.layout import field_error, field_label
from hotlead_app.domain.errors import DomainError, InvalidInput
from hotlead_app.domain.forms import FIELD_TYPES, validate_form_fields
from hotlead_app.domain.text import suggest_slug
from hotlead_app.pages.admin_niches.state import NichesState
from hotlead_app.services import catalog
from hotlead_app.services.reads import niches as niche_reads
from hotlead_app.state.events import event
from hotlead_app.state.fields import ObjectField, object_field
from hotlead_app.state.guards import guarded

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


class FieldEditor(NichesState):
    editor_open: rx.Field[bool] = rx.field(False)
    edit_id: rx.Field[str] = rx.field("")
    slug: rx.Field[str] = rx.field("")
    # the slug follows the name as it is typed until the admin types a slug of their own
    slug_edited: rx.Field[bool] = rx.field(False)
    name: rx.Field[str] = rx.field("")
    rows: rx.Field[list[FieldRow]] = rx.field(default_factory=list)
    # days within which the same consumer is flagged and not sold twice to a provider (0: off)
    dup_days: rx.Field[str] = rx.field("30")
    # whether the public form requires the consumer's name (it is always asked)
    name_required: rx.Field[bool] = rx.field(False)
    errors: ObjectField[dict[str, str]] = object_field(dict)
    saving: rx.Field[bool] = rx.field(False)

    @event
    def new_niche(self):
        self.editor_open = True
        self.edit_id = ""
        self.slug = ""
        self.slug_edited = False
        self.name = ""
        self.dup_days = "30"
        self.rows = [FieldRow(name="zip", label="ZIP code", type="zip", required=True)]
        self.name_required = False
        self.errors = {}

    @event
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
        self.dup_days = str(niche["duplicate_window_days"])
        self.name_required = bool(niche.get("name_required"))
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

    @event
    def close_editor(self):
        self.editor_open = False
        self.errors = {}

    @event
    def set_slug(self, value: str):
        self.slug = value
        # Emptied: follow the name again; otherwise the admin's own slug stays.
        self.slug_edited = bool(value.strip()) and value != suggest_slug(self.name)
        self.errors = {k: v for k, v in self.errors.items() if k != "slug"}

    @event
    def set_name(self, value: str):
        self.name = value
        if not self.edit_id and not self.slug_edited:
            self.slug = suggest_slug(value)
            self.errors = {k: v for k, v in self.errors.items() if k != "slug"}

    @event
    def set_name_required(self, value: bool):
        self.name_required = bool(value)

    @event
    def set_dup_days(self, value: str):
        self.dup_days = value
        self.errors = {k: v for k, v in self.errors.items() if k != "duplicate_window_days"}

    @event
    def add_form_field(self):
        self.rows = [*self.rows, FieldRow()]

    @event
    def remove_form_field(self, index: int):
        self.rows = [r for i, r in enumerate(self.rows) if i != index]

    @event
    def move_field(self, index: int, delta: int):
        target = index + delta
        if 0 <= index < len(self.rows) and 0 <= target < len(self.rows):
            rows = list(self.rows)
            rows[index], rows[target] = rows[target], rows[index]
            self.rows = rows

    @event
    def set_row_text(self, index: int, key: str, value: str):
        if 0 <= index < len(self.rows) and key in ("name", "label", "type", "options"):
            rows = list(self.rows)
            changes: dict[str, Any] = {key: value, f"{key}_error": ""} if key != "label" else {key: value}
            rows[index] = dataclasses.replace(rows[index], **changes)
            self.rows = rows

    @event
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
                error: dict[str, Any] = {attr: str(message)}
                rows[index] = dataclasses.replace(rows[index], **error)
            else:
                errors[key] = str(message)
        self.rows = rows
        self.errors = errors

    def _dup_days(self) -> int | str:
        """The window as typed: a whole number, or the text for the service to refuse."""
        days = self.dup_days.strip()
        return int(days) if days.isdigit() else days

    @event
    @guarded
    def save_niche(self, principal):
        self.saving = True
        yield
        try:
            if self.edit_id:
                niche = catalog.update_niche(
                    niche_id=uuid.UUID(self.edit_id),
                    actor=principal.actor,
                    values={
                        "name": self.name,
                        "fields": self._fields(),
                        "duplicate_window_days": self._dup_days(),
                        "name_required": self.name_required,
                    },
                )
                done = f"Saved {niche.name}."
            else:
                niche = catalog.create_niche(
                    slug=self.slug.strip(),
                    name=self.name,
                    fields=self._fields(),
                    actor=principal.actor,
                    duplicate_window_days=self._dup_days(),
                    name_required=self.name_required,
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


S = FieldEditor


def labelled(label: str, control: rx.Component, error, html_for: str) -> rx.Component:
    return rx.box(
        field_label(label, html_for=html_for, size="2", weight="medium"),
        control,
        field_error(error),
        width="100%",
    )


def _field_row(row: FieldRow, index) -> rx.Component:
    return rx.card(
        rx.flex(
            rx.box(
                field_label("Name", html_for=f"field-{index}-name", size="1"),
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
                field_label("Label", html_for=f"field-{index}-label", size="1"),
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
                field_label("Type", html_for=f"field-{index}-type", size="1"),
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
                    field_label("Options (comma-separated)", html_for=f"field-{index}-options", size="1"),
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


def niche_editor() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading(rx.cond(S.edit_id != "", "Edit niche", "New niche"), size="4"),
            rx.flex(
                labelled(
                    "Name",
                    rx.input(value=S.name, on_change=S.set_name, id="niche-name", placeholder="Roofing", width="100%"),
                    S.errors.get("name", ""),
                    "niche-name",
                ),
                labelled(
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
                wrap="wrap",
                spacing="3",
                width="100%",
            ),
            rx.cond(
                (S.edit_id == "") & ~S.slug_edited & (S.slug != ""),
                rx.text(
                    "The slug follows the name: type your own to change it.",
                    size="1",
                    color_scheme="gray",
                    id="niche-slug-hint",
                ),
            ),
            labelled(
                "Same consumer window, days (0: off)",
                rx.input(
                    value=S.dup_days,
                    on_change=S.set_dup_days,
                    id="niche-duplicate-window",
                    input_mode="numeric",
                    width="8em",
                ),
                S.errors.get("duplicate_window_days", ""),
                "niche-duplicate-window",
            ),
            rx.text(
                "A lead whose email or phone matches an earlier lead of this niche within this window is "
                "flagged as a possible duplicate, and no provider gets the same consumer twice in it.",
                size="1",
                color_scheme="gray",
            ),
            rx.text("Form fields (name, email and phone are always asked)", size="2", weight="medium"),
            rx.checkbox(
                "The consumer's name is required",
                checked=S.name_required,
                on_change=S.set_name_required,
                id="niche-name-required",
            ),
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
