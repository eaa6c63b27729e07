"""The filter builder: one row per filterable field of the niche (options to tick,
a number range, ZIP codes or a radius around a ZIP and states), the errors it can
tell before the service, and the live count of the last 30 days' leads the filters
would have matched (the engine's own filter function, radius and states included)."""

from __future__ import annotations

import dataclasses
import re
import uuid
from typing import cast

import reflex as rx
from reflex.vars import ArrayVar

from hotlead_app.domain import zip_places
from hotlead_app.domain.controls import state_codes
from hotlead_app.domain.errors import DomainError, InvalidFilters
from hotlead_app.pages.provider_subscriptions.state import SubscriptionsState
from hotlead_app.services.reads import subscriptions
from hotlead_app.state.events import event
from hotlead_app.state.guards import guarded

ZIP_RE = re.compile(r"^\d{5}(?:-\d{4})?$")
#: The US state codes a ZIP filter's ``states`` may name (from the ZIP data).
STATES = sorted(state_codes())


@dataclasses.dataclass
class FilterOption:
    value: str = ""
    checked: bool = False


@dataclasses.dataclass
class FilterField:
    name: str = ""
    label: str = ""
    type: str = ""  # select | zip | number | refused (REFUSED)
    options: list[FilterOption] = dataclasses.field(default_factory=list)
    min: str = ""
    max: str = ""
    zips: str = ""
    # a ZIP field's radius (centre ZIP + miles, with the centre's place) and states
    near_zip: str = ""
    near_miles: str = ""
    near_place: str = ""
    states: list[str] = dataclasses.field(default_factory=list)
    error: str = ""
    near_error: str = ""
    states_error: str = ""


#: A builder row for a rule a filter may not have (DOMAIN.md "Which fields a filter may
#: name"): it shows why, next to the field, and saving drops the rule.
REFUSED = "refused"
DROPS = " Saving drops this rule."


def builder_fields(fields: list[dict], filters: dict, problems: dict | None = None) -> tuple[list[FilterField], dict]:
    """Builder rows for a niche's filterable fields, filled from ``filters``; each rule
    in ``problems`` (the subscription's refused rules) gets its message next to its
    field and is dropped on save; other rules the builder cannot show are kept aside."""
    rows: list[FilterField] = []
    problems = problems or {}
    extra = {k: v for k, v in filters.items() if k not in problems}
    for f in fields:
        rule = extra.get(f["name"])
        row = FilterField(name=f["name"], label=f["label"], type=f["type"])
        if f["rule"] == "list":
            chosen = [str(v) for v in rule] if isinstance(rule, list) else []
            if isinstance(rule, list):
                extra.pop(f["name"])
            if f["type"] == "select":
                row.options = [FilterOption(o, o in chosen) for o in f["options"]]
                row.options += [FilterOption(v, True) for v in chosen if v not in f["options"]]
            else:
                row.zips = ", ".join(chosen)
                if isinstance(rule, dict) and ("near" in rule or "states" in rule):
                    extra.pop(f["name"])
                    near = rule.get("near") or {}
                    row.near_zip = str(near.get("zip", ""))
                    row.near_miles = str(near.get("miles", ""))
                    row.near_place = _place(row.near_zip)
                    row.states = [str(x) for x in rule.get("states") or []]
        elif isinstance(rule, dict):
            extra.pop(f["name"])
            row.min = "" if rule.get("min") is None else str(rule["min"])
            row.max = "" if rule.get("max") is None else str(rule["max"])
        if f["name"] in problems:
            row.error = problems[f["name"]] + DROPS
        rows.append(row)
    shown = {r.name for r in rows}
    rows += [
        FilterField(name=name, label=name, type=REFUSED, error=message + DROPS)
        for name, message in problems.items()
        if name not in shown
    ]
    return rows, extra


def _place(zip_code: str) -> str:
    """The centre ZIP's "City, ST", or why there is none."""
    if not zip_code.strip():
        return ""
    place = zip_places.zip_place(zip_code)
    return f"{place['city']}, {place['state']}" if place else "Unknown ZIP code"


def _geo(row: FilterField) -> dict:
    """The row's radius and states as a filter (what the service validates)."""
    geo: dict = {}
    if row.near_zip.strip() or row.near_miles.strip():
        geo["near"] = {"zip": row.near_zip.strip(), "miles": row.near_miles.strip()}
    if row.states:
        geo["states"] = sorted(row.states)
    return geo


def _filters_from(rows: list[FilterField], extra: dict) -> tuple[dict, dict[str, str]]:
    """The filters the builder describes, and the errors it can tell before the service."""
    filters = dict(extra)
    errors: dict[str, str] = {}
    for row in rows:
        if row.type == "select":
            chosen = [o.value for o in row.options if o.checked]
            if chosen:
                filters[row.name] = chosen
        elif row.type == "zip":
            zips = [z for z in re.split(r"[\s,;]+", row.zips) if z]
            bad = [z for z in zips if not ZIP_RE.match(z)]
            geo = _geo(row)
            if bad:
                errors[row.name] = f"Not a ZIP code: {', '.join(bad[:3])}"
            elif zips and geo:
                errors[row.name] = "Use either a list of ZIP codes or a radius and states, not both."
            elif zips:
                filters[row.name] = list(dict.fromkeys(zips))
            elif geo:
                filters[row.name] = geo
        elif row.type == "number":
            bounds = {k: v.strip() for k, v in (("min", row.min), ("max", row.max)) if v.strip()}
            if bounds:
                filters[row.name] = bounds
    return filters, errors


#: Handlers run after each count (the form registers its waiting-leads count here).
AFTER_COUNT: list = []


class FilterBuilder(SubscriptionsState):
    niche_id: rx.Field[str] = rx.field("")
    fields: rx.Field[list[FilterField]] = rx.field(default_factory=list)
    _extra: dict = {}
    matched: rx.Field[int] = rx.field(-1)
    total: rx.Field[int] = rx.field(0)
    # of the matched leads, how many the schedule and caps let through (-1: no controls
    # or not counted yet); set by the controls editor's count
    after_controls: rx.Field[int] = rx.field(-1)
    outside_schedule: rx.Field[int] = rx.field(0)
    over_cap: rx.Field[int] = rx.field(0)
    counting: rx.Field[bool] = rx.field(False)
    form_error: rx.Field[str] = rx.field("")

    def _update(self, name: str, change) -> None:
        rows = [dataclasses.replace(r) for r in self.fields]
        for row in rows:
            if row.name == name:
                change(row)
                row.error = row.near_error = row.states_error = ""
        self.fields = rows

    @event
    def toggle_option(self, name: str, value: str, checked: bool):
        def change(row: FilterField) -> None:
            row.options = [FilterOption(o.value, checked if o.value == value else o.checked) for o in row.options]

        self._update(name, change)
        return FilterBuilder.recount

    @event
    def set_min(self, name: str, value: str):
        self._update(name, lambda row: setattr(row, "min", value))
        return FilterBuilder.recount

    @event
    def set_max(self, name: str, value: str):
        self._update(name, lambda row: setattr(row, "max", value))
        return FilterBuilder.recount

    @event
    def set_zips(self, name: str, value: str):
        self._update(name, lambda row: setattr(row, "zips", value))
        return FilterBuilder.recount

    @event
    def set_near_zip(self, name: str, value: str):
        def change(row: FilterField) -> None:
            row.near_zip = value
            row.near_place = _place(value)

        self._update(name, change)
        return FilterBuilder.recount

    @event
    def set_near_miles(self, name: str, value: str):
        self._update(name, lambda row: setattr(row, "near_miles", value))
        return FilterBuilder.recount

    @event
    def toggle_state(self, name: str, code: str, checked: bool):
        def change(row: FilterField) -> None:
            row.states = sorted({*row.states, code} if checked else set(row.states) - {code})

        self._update(name, change)
        return FilterBuilder.recount

    def _collect(self) -> dict | None:
        """The filters, or None after marking the fields that are wrong."""
        filters, errors = _filters_from(self.fields, self._extra)
        if errors:
            self._mark(errors)
            return None
        return filters

    def _mark(self, errors: dict) -> None:
        rows = [dataclasses.replace(r) for r in self.fields]
        shown: set[str] = set()
        for row in rows:
            row.error = str(errors.get(row.name, "")) or (row.error if row.error.endswith(DROPS) else "")
            near = {k: v for k, v in errors.items() if str(k).startswith(f"{row.name}.near")}
            row.near_error = "; ".join(f"{_part(k)}{v}" for k, v in near.items())
            row.states_error = str(errors.get(f"{row.name}.states", ""))
            shown |= {row.name, f"{row.name}.states", *near}
        self.fields = rows
        others = {k: v for k, v in errors.items() if k not in shown}
        self.form_error = "; ".join(f"{k}: {v}" for k, v in others.items())

    @event
    @guarded
    def recount(self, principal):
        if not self.niche_id:
            return
        filters = self._collect()
        if filters is None:
            self.matched = -1
            return
        self.counting = True
        yield
        try:
            result = subscriptions.filter_preview(principal.actor, niche_id=uuid.UUID(self.niche_id), filters=filters)
        except InvalidFilters as exc:
            self._mark(exc.details)
            self.matched = -1
        except DomainError as exc:
            self.form_error = exc.message
            self.matched = -1
        else:
            self.matched, self.total = result["matched"], result["total"]
            self._mark({})
        finally:
            self.counting = False
        # What the form counts with the filters (the waiting leads): a substate's handler.
        yield from AFTER_COUNT


def _part(key: str) -> str:
    """ "zip.near.miles" -> "Miles: " (which input of the radius an error is about)."""
    last = key.rsplit(".", 1)[-1]
    return {"miles": "Miles: ", "zip": "Centre ZIP: "}.get(last, "")


S = FilterBuilder


def _zip_area(f: FilterField) -> rx.Component:
    """Or: a radius around a centre ZIP (its city and state shown once typed) and states."""
    states = cast(ArrayVar, f.states)  # a Var inside rx.foreach
    return rx.vstack(
        rx.text("…or within a radius of a ZIP code:", size="1", color_scheme="gray"),
        rx.flex(
            rx.input(
                placeholder="centre ZIP",
                value=f.near_zip,
                on_change=lambda v: S.set_near_zip(f.name, v),
                debounce_timeout=400,
                width="7em",
                input_mode="numeric",
                class_name="near-zip",
            ),
            rx.input(
                placeholder="miles",
                value=f.near_miles,
                on_change=lambda v: S.set_near_miles(f.name, v),
                debounce_timeout=400,
                width="6em",
                input_mode="decimal",
                class_name="near-miles",
            ),
            rx.text("miles", size="2"),
            rx.text(f.near_place, size="2", color_scheme="gray", class_name="near-place"),
            align="center",
            wrap="wrap",
            spacing="2",
        ),
        rx.cond(
            f.near_error != "",
            rx.text(f.near_error, color_scheme="red", size="1", role="alert", class_name="field-error near-error"),
        ),
        rx.el.details(
            rx.el.summary(
                rx.cond(states.length() > 0, "States: " + states.join(", "), "…and/or in these states (any)"),
                style={"cursor": "pointer", "font_size": "0.85em"},
            ),
            rx.flex(
                rx.foreach(
                    STATES,
                    lambda code: rx.checkbox(
                        code,
                        checked=states.contains(code),
                        on_change=lambda checked: S.toggle_state(f.name, code, checked),
                        size="1",
                        class_name="state-option",
                    ),
                ),
                wrap="wrap",
                spacing="2",
                padding_top="0.4em",
            ),
            class_name="states-picker",
        ),
        rx.cond(
            f.states_error != "",
            rx.text(f.states_error, color_scheme="red", size="1", role="alert", class_name="field-error states-error"),
        ),
        spacing="1",
        width="100%",
    )


def _field_editor(f: FilterField) -> rx.Component:
    return rx.box(
        rx.text(f.label, weight="medium", size="2"),
        rx.cond(
            f.type == "select",
            rx.vstack(
                rx.text("Leave all unticked to accept any value.", size="1", color_scheme="gray"),
                rx.flex(
                    rx.foreach(
                        f.options,
                        lambda o: rx.checkbox(
                            o.value,
                            checked=o.checked,
                            on_change=lambda checked: S.toggle_option(f.name, o.value, checked),
                            class_name="filter-option",
                        ),
                    ),
                    wrap="wrap",
                    spacing="3",
                ),
                spacing="1",
            ),
            rx.cond(
                f.type == "number",
                rx.hstack(
                    rx.input(
                        placeholder="min",
                        value=f.min,
                        on_change=lambda v: S.set_min(f.name, v),
                        debounce_timeout=400,
                        width="8em",
                        class_name="filter-min",
                        input_mode="decimal",
                    ),
                    rx.text("to"),
                    rx.input(
                        placeholder="max",
                        value=f.max,
                        on_change=lambda v: S.set_max(f.name, v),
                        debounce_timeout=400,
                        width="8em",
                        class_name="filter-max",
                        input_mode="decimal",
                    ),
                    align="center",
                    spacing="2",
                ),
                rx.vstack(
                    rx.text_area(
                        value=f.zips,
                        on_change=lambda v: S.set_zips(f.name, v),
                        debounce_timeout=400,
                        placeholder="ZIP codes, separated by commas or spaces (empty: any)",
                        width="100%",
                        rows="2",
                        class_name="filter-zips",
                    ),
                    _zip_area(f),
                    width="100%",
                    display=rx.cond(f.type == REFUSED, "none", "flex"),
                ),
            ),
        ),
        rx.cond(f.error != "", rx.text(f.error, color_scheme="red", size="1", role="alert", class_name="field-error")),
        width="100%",
        padding_y="0.5em",
        border_bottom="1px solid var(--gray-a4)",
        id="filter-" + f.name,
    )


def builder() -> rx.Component:
    return rx.vstack(
        rx.heading("Filters", size="3"),
        rx.cond(
            S.fields.length() > 0,
            rx.foreach(S.fields, _field_editor),
            rx.text("This niche's form has no field to filter on: every lead matches.", size="2"),
        ),
        rx.callout(
            rx.cond(
                S.matched >= 0,
                rx.vstack(
                    rx.text(
                        "These filters would have matched ",
                        rx.text.strong(S.matched.to_string(), id="match-count"),
                        " of the ",
                        S.total.to_string(),
                        " leads of this niche in the last 30 days.",
                    ),
                    spacing="1",
                ),
                rx.text("Fix the filters above to see how many leads they match.", id="match-count-none"),
            ),
            icon=rx.cond(S.counting, "loader", "chart_bar"),
            width="100%",
            id="match-preview",
        ),
        spacing="2",
        width="100%",
    )
