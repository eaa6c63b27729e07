"""The filter builder: one row per filterable field of the niche (options to tick,
a number range, ZIP codes), the errors it can tell before the service, and the live
count of the last 30 days' leads the filters would have matched."""

from __future__ import annotations

import dataclasses
import re
import uuid

import reflex as rx

from hotlead_app.domain.errors import DomainError, InvalidFilters
from hotlead_app.pages.provider_subscriptions.state import SubscriptionsState
from hotlead_app.services.reads import subscriptions
from hotlead_app.state.events import event
from hotlead_app.state.guards import guarded

ZIP_RE = re.compile(r"^\d{5}(?:-\d{4})?$")


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
    error: str = ""


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
            if bad:
                errors[row.name] = f"Not a ZIP code: {', '.join(bad[:3])}"
            elif zips:
                filters[row.name] = list(dict.fromkeys(zips))
        elif row.type == "number":
            bounds = {k: v.strip() for k, v in (("min", row.min), ("max", row.max)) if v.strip()}
            if bounds:
                filters[row.name] = bounds
    return filters, errors


class FilterBuilder(SubscriptionsState):
    niche_id: rx.Field[str] = rx.field("")
    fields: rx.Field[list[FilterField]] = rx.field(default_factory=list)
    _extra: dict = {}
    matched: rx.Field[int] = rx.field(-1)
    total: rx.Field[int] = rx.field(0)
    counting: rx.Field[bool] = rx.field(False)
    form_error: rx.Field[str] = rx.field("")

    def _update(self, name: str, change) -> None:
        rows = [dataclasses.replace(r) for r in self.fields]
        for row in rows:
            if row.name == name:
                change(row)
                row.error = ""
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

    def _collect(self) -> dict | None:
        """The filters, or None after marking the fields that are wrong."""
        filters, errors = _filters_from(self.fields, self._extra)
        if errors:
            self._mark(errors)
            return None
        return filters

    def _mark(self, errors: dict) -> None:
        rows = [dataclasses.replace(r) for r in self.fields]
        for row in rows:
            row.error = str(errors.get(row.name, "")) or (row.error if row.error.endswith(DROPS) else "")
        self.fields = rows
        others = {k: v for k, v in errors.items() if k not in {r.name for r in rows}}
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


S = FilterBuilder


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
                    width="100%",
                    display=rx.cond(f.type == REFUSED, "none", "flex"),
                ),
            ),
        ),
        rx.cond(f.error != "", rx.text(f.error, color="red", size="1", role="alert", class_name="field-error")),
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
                rx.text(
                    "These filters would have matched ",
                    rx.text.strong(S.matched.to_string(), id="match-count"),
                    " of the ",
                    S.total.to_string(),
                    " leads of this niche in the last 30 days.",
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
