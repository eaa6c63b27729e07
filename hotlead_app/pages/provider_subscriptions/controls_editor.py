"""A subscription's buyer controls in the form: the weekly schedule grid (7 days, each
with its windows start–end, presets) and the lead caps per day / week / month
(DOMAIN.md "Time zone, schedules, caps"). The service validates; its errors
(``schedule.mon[0]``, ``caps.day``) are shown next to the day or the cap."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

import reflex as rx

from hotlead_app.components.layout import field_label
from hotlead_app.domain.controls import DAYS, PERIODS
from hotlead_app.domain.errors import DomainError
from hotlead_app.pages.provider_subscriptions.filter_builder import AFTER_COUNT, FilterBuilder, _filters_from
from hotlead_app.services.reads import subscriptions
from hotlead_app.state.events import event
from hotlead_app.state.fields import ObjectField, object_field
from hotlead_app.state.guards import guarded

DAY_LABEL = dict(zip(DAYS, ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"), strict=True))
WEEKDAYS = DAYS[:5]
#: Presets of the schedule grid: name -> (days, window), None = always open.
PRESETS: dict[str, tuple[tuple[str, ...], tuple[str, str]] | None] = {
    "always": None,
    "weekdays-8-6": (WEEKDAYS, ("08:00", "18:00")),
    "weekdays-9-5": (WEEKDAYS, ("09:00", "17:00")),
}
PRESET_LABEL = {"always": "Always", "weekdays-8-6": "Weekdays 8–6", "weekdays-9-5": "Weekdays 9–5"}


@dataclasses.dataclass
class Window:
    start: str = "09:00"
    end: str = "17:00"


@dataclasses.dataclass
class DayRow:
    day: str = ""
    label: str = ""
    windows: list[Window] = dataclasses.field(default_factory=list)
    error: str = ""


def day_rows(schedule: dict[str, Any] | None) -> list[DayRow]:
    """The grid's rows for a stored schedule (None: always open, every row empty)."""
    schedule = schedule or {}
    return [
        DayRow(day=d, label=DAY_LABEL[d], windows=[Window(str(w[0]), str(w[1])) for w in schedule.get(d) or []])
        for d in DAYS
    ]


def schedule_from(always: bool, rows: list[DayRow]) -> dict[str, list[list[str]]] | None:
    if always:
        return None
    return {r.day: [[w.start.strip(), w.end.strip()] for w in r.windows] for r in rows if r.windows}


def caps_from(inputs: dict[str, str]) -> dict[str, Any]:
    """The caps typed; whole numbers as numbers, anything else as typed (the service
    names what is wrong with it)."""
    caps: dict[str, Any] = {}
    for period in PERIODS:
        text = (inputs.get(period) or "").strip()
        if text:
            caps[period] = int(text) if text.isdigit() else text
    return caps


class ControlsEditor(FilterBuilder):
    always_open: rx.Field[bool] = rx.field(True)
    days: rx.Field[list[DayRow]] = rx.field(default_factory=list)
    cap_inputs: ObjectField[dict[str, str]] = object_field(dict)
    control_errors: ObjectField[dict[str, str]] = object_field(dict)

    def _reset_controls(self, schedule: dict[str, Any] | None = None, caps: dict[str, Any] | None = None) -> None:
        self.always_open = schedule is None
        self.days = day_rows(schedule)
        self.cap_inputs = {p: str((caps or {}).get(p, "")) for p in PERIODS}
        self.control_errors = {}

    def _controls(self) -> tuple[dict[str, list[list[str]]] | None, dict[str, Any]]:
        return schedule_from(self.always_open, self.days), caps_from(self.cap_inputs)

    def _mark_controls(self, errors: dict) -> dict:
        """Put the schedule and caps errors next to their day or cap; the rest back."""
        rows = [dataclasses.replace(r, error="") for r in self.days]
        mine: dict[str, str] = {}
        rest = {}
        for key, message in errors.items():
            key = str(key)
            if key.startswith("schedule"):
                day = key.split(".", 1)[1].split("[", 1)[0] if "." in key else ""
                row = next((r for r in rows if r.day == day), None)
                if row is not None:
                    row.error = str(message)
                else:
                    mine["schedule"] = str(message)
            elif key.startswith("caps"):
                mine[key.split(".", 1)[1] if "." in key else "caps"] = str(message)
            else:
                rest[key] = message
        self.days = rows
        self.control_errors = mine
        return rest

    @event
    @guarded
    def count_controls(self, principal):
        """Of the leads the filters matched, how many the schedule and caps typed now
        let through (the service's one rule); nothing shown without controls or while
        something typed is wrong (saving says what)."""
        schedule, caps = self._controls()
        if not self.niche_id or self.matched < 0 or (schedule is None and not caps):
            self.after_controls = -1
            return
        filters, errors = _filters_from(self.fields, self._extra)
        if errors:
            self.after_controls = -1
            return
        try:
            result = subscriptions.filter_preview(
                principal.actor, niche_id=uuid.UUID(self.niche_id), filters=filters, schedule=schedule, caps=caps
            )
        except DomainError:
            self.after_controls = -1
            return
        self.after_controls = result["after_controls"]
        self.outside_schedule, self.over_cap = result["outside_schedule"], result["over_cap"]

    @event
    def preset(self, name: str):
        chosen = PRESETS.get(name)
        self.control_errors = {}
        if chosen is None:
            self.always_open = True
            self.days = day_rows(None)
            return ControlsEditor.count_controls
        days, (start, end) = chosen
        self.always_open = False
        self.days = [DayRow(day=d, label=DAY_LABEL[d], windows=[Window(start, end)] if d in days else []) for d in DAYS]
        return ControlsEditor.count_controls

    @event
    def set_always(self, value: bool):
        self.always_open = value
        if not value and not any(r.windows for r in self.days):
            self.days = day_rows({d: [["09:00", "17:00"]] for d in WEEKDAYS})
        return ControlsEditor.count_controls

    def _change_day(self, day: str, change) -> None:
        rows = [dataclasses.replace(r, windows=[dataclasses.replace(w) for w in r.windows]) for r in self.days]
        for row in rows:
            if row.day == day:
                change(row)
                row.error = ""
        self.days = rows

    @event
    def add_window(self, day: str):
        self._change_day(day, lambda row: row.windows.append(Window()))
        return ControlsEditor.count_controls

    @event
    def remove_window(self, day: str, index: int):
        self._change_day(day, lambda row: row.windows.pop(index) if 0 <= index < len(row.windows) else None)
        return ControlsEditor.count_controls

    @event
    def set_start(self, day: str, index: int, value: str):
        self._change_day(day, lambda row: setattr(row.windows[index], "start", value))
        return ControlsEditor.count_controls

    @event
    def set_end(self, day: str, index: int, value: str):
        self._change_day(day, lambda row: setattr(row.windows[index], "end", value))
        return ControlsEditor.count_controls

    @event
    def set_cap(self, period: str, value: str):
        self.cap_inputs = {**self.cap_inputs, period: value}
        self.control_errors = {k: v for k, v in self.control_errors.items() if k != period}
        return ControlsEditor.count_controls


C = ControlsEditor
AFTER_COUNT.append(ControlsEditor.count_controls)


def _window(day: DayRow, window: Window, index) -> rx.Component:
    return rx.hstack(
        rx.input(
            placeholder="HH:MM",
            value=window.start,
            on_change=lambda v: C.set_start(day.day, index, v),
            debounce_timeout=300,
            width="5.5em",
            size="1",
            aria_label=day.label + " window start",
            class_name="window-start",
        ),
        rx.text("–"),
        rx.input(
            placeholder="HH:MM",
            value=window.end,
            on_change=lambda v: C.set_end(day.day, index, v),
            debounce_timeout=300,
            width="5.5em",
            size="1",
            aria_label=day.label + " window end",
            class_name="window-end",
        ),
        rx.icon_button(
            rx.icon("x", size=12),
            size="1",
            variant="ghost",
            color_scheme="gray",
            on_click=C.remove_window(day.day, index),
            aria_label="Remove window",
            class_name="remove-window",
        ),
        align="center",
        spacing="1",
    )


def _day_row(day: DayRow) -> rx.Component:
    return rx.box(
        rx.flex(
            rx.text(day.label, weight="medium", size="2", width="2.5em"),
            rx.flex(
                rx.cond(
                    day.windows.length() > 0,  # type: ignore[attr-defined]
                    rx.foreach(day.windows, lambda w, i: _window(day, w, i)),
                    rx.text("closed", size="2", color_scheme="gray"),
                ),
                rx.button(
                    "+ window", size="1", variant="soft", on_click=C.add_window(day.day), class_name="add-window"
                ),
                wrap="wrap",
                gap="2",
                align="center",
            ),
            gap="2",
            align="center",
        ),
        rx.cond(
            day.error != "", rx.text(day.error, color_scheme="red", size="1", role="alert", class_name="field-error")
        ),
        padding_y="0.25em",
        border_bottom="1px solid var(--gray-a3)",
        id="day-" + day.day,
        width="100%",
    )


def _cap_input(period: str) -> rx.Component:
    error = C.control_errors.get(period, "")
    return rx.vstack(
        field_label("Per " + period, html_for="cap-" + period),
        rx.input(
            value=C.cap_inputs.get(period, ""),
            on_change=lambda v: C.set_cap(period, v),
            placeholder="no cap",
            input_mode="numeric",
            width="7em",
            id="cap-" + period,
        ),
        rx.cond(error != "", rx.text(error, color_scheme="red", size="1", role="alert", class_name="field-error")),
        spacing="1",
        id="cap-field-" + period,
    )


def _after_controls() -> rx.Component:
    """What the schedule and caps typed above leave of the filters' matches, right
    under them, where a change to a window or a cap shows its effect (the filter
    count above only counts the filters)."""
    return rx.cond(
        (C.matched >= 0) & (C.after_controls >= 0),
        rx.callout(
            rx.text(
                rx.text.strong(C.matched.to_string()),
                " match your filters; ",
                rx.text.strong(C.after_controls.to_string(), id="match-count-controls"),
                " after schedule and caps (",
                C.outside_schedule.to_string(),
                " outside the schedule, ",
                C.over_cap.to_string(),
                " over a cap) in the last 30 days.",
                id="match-controls",
            ),
            icon=rx.cond(C.counting, "loader", "calendar_clock"),
            width="100%",
            id="controls-preview",
        ),
    )


def controls_editor() -> rx.Component:
    schedule_error = C.control_errors.get("schedule", "")
    return rx.vstack(
        rx.heading("Schedule", size="3"),
        rx.text("Leads come only inside these windows, in your time zone (see Overview → Settings).", size="1"),
        rx.flex(
            *[
                rx.button(label, size="1", variant="outline", on_click=C.preset(name), id="preset-" + name)
                for name, label in PRESET_LABEL.items()
            ],
            wrap="wrap",
            gap="2",
        ),
        rx.checkbox("Always open", checked=C.always_open, on_change=C.set_always, id="always-open"),
        rx.cond(~C.always_open, rx.vstack(rx.foreach(C.days, _day_row), spacing="0", width="100%", id="schedule-grid")),
        rx.cond(schedule_error != "", rx.text(schedule_error, color_scheme="red", size="1", role="alert")),
        rx.heading("Lead caps", size="3"),
        rx.text("At most this many leads per period (empty: no cap).", size="1"),
        rx.flex(*[_cap_input(p) for p in PERIODS], wrap="wrap", gap="3"),
        _after_controls(),
        spacing="2",
        width="100%",
        id="controls-editor",
    )
