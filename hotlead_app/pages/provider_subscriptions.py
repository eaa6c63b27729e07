"""``/provider/subscriptions``: a provider's subscriptions (level, price, max
providers, status), subscribing to a niche's competition level with a filter builder
made from the niche's form fields and a live count of the last 30 days' leads it would
have matched, pause / resume, filter edits (future leads only) and cancelling."""

from __future__ import annotations

import dataclasses
import re
import uuid

import reflex as rx

from hotlead_app import routes
from hotlead_app.components.backoffice import empty_state, provider_layout
from hotlead_app.components.widgets import confirm_dialog, data_table, loading_or
from hotlead_app.domain.actors import Actor
from hotlead_app.domain.errors import DomainError, InvalidFilters
from hotlead_app.pages.provider_home import TITLE_SUFFIX
from hotlead_app.services import catalog
from hotlead_app.services.reads import subscriptions
from hotlead_app.state.guards import ProviderPageState, guarded

ZIP_RE = re.compile(r"^\d{5}(?:-\d{4})?$")


@dataclasses.dataclass
class FilterOption:
    value: str = ""
    checked: bool = False


@dataclasses.dataclass
class FilterField:
    name: str = ""
    label: str = ""
    type: str = ""  # select | zip | number
    options: list[FilterOption] = dataclasses.field(default_factory=list)
    min: str = ""
    max: str = ""
    zips: str = ""
    error: str = ""


#: A builder row for a rule a filter may not have (DOMAIN.md "Which fields a filter may
#: name"): it shows why, next to the field, and saving drops the rule.
REFUSED = "refused"
DROPS = " Saving drops this rule."


def _builder_fields(fields: list[dict], filters: dict, problems: dict | None = None) -> tuple[list[FilterField], dict]:
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


class SubscriptionsState(ProviderPageState):
    subs: list[dict[str, str]] = []
    loading: bool = True
    niches: list[dict[str, str]] = []
    _options: list[dict] = []
    # the form: "new" subscription or "edit" filters of one
    mode: str = ""
    editing_id: str = ""
    editing_label: str = ""
    niche_id: str = ""
    level_id: str = ""
    levels: list[dict[str, str]] = []
    fields: list[FilterField] = []
    _extra: dict = {}
    matched: int = -1
    total: int = 0
    counting: bool = False
    form_error: str = ""
    saving: bool = False

    # ------------------------------------------------------------------ loading

    def _reload(self, actor: Actor) -> None:
        self.subs = [
            {
                "id": s["id"],
                "niche": s["niche"],
                "level": s["level"],
                "price": s["price_per_lead"],
                "max_providers": str(s["max_providers"]),
                "status": s["status"],
                "filters": s["filters_text"],
                "active": "1" if s["active"] else "",
                "can_resume": "1" if s["can_resume"] else "",
            }
            for s in subscriptions.provider_subscriptions(actor)
        ]
        self._options = [{**n} for n in subscriptions.subscription_options(actor)]
        self.niches = [{"id": n["id"], "name": n["name"]} for n in self._options]

    @rx.event
    @guarded
    def load(self, principal):
        self._reload(principal.actor)
        self.mode = ""
        self.loading = False

    def _niche(self, niche_id: str) -> dict | None:
        return next((n for n in self._options if n["id"] == niche_id), None)

    def _reset_form(self) -> None:
        self.editing_id = self.editing_label = self.niche_id = self.level_id = self.form_error = ""
        self.levels, self.fields, self._extra = [], [], {}
        self.matched, self.total = -1, 0

    # ------------------------------------------------------------------ the form

    @rx.event
    def start_new(self):
        self._reset_form()
        self.mode = "new"

    @rx.event
    def close_form(self):
        self._reset_form()
        self.mode = ""

    @rx.event
    def choose_niche(self, niche_id: str):
        niche = self._niche(niche_id)
        self.niche_id = niche_id if niche else ""
        self.level_id = ""
        self.form_error = ""
        if niche is None:
            self.levels, self.fields = [], []
            self.matched = -1
            return
        self.levels = [
            {
                "id": lvl["id"],
                "name": lvl["name"],
                "price": lvl["price_per_lead"],
                "max_providers": str(lvl["max_providers"]),
                "subscribed": "1" if lvl["subscribed"] else "",
            }
            for lvl in niche["levels"]
        ]
        self.fields, self._extra = _builder_fields(niche["fields"], {})
        return SubscriptionsState.recount

    @rx.event
    def choose_level(self, level_id: str):
        self.level_id = level_id
        self.form_error = ""

    def _update(self, name: str, change) -> None:
        rows = [dataclasses.replace(r) for r in self.fields]
        for row in rows:
            if row.name == name:
                change(row)
                row.error = ""
        self.fields = rows

    @rx.event
    def toggle_option(self, name: str, value: str, checked: bool):
        def change(row: FilterField) -> None:
            row.options = [FilterOption(o.value, checked if o.value == value else o.checked) for o in row.options]

        self._update(name, change)
        return SubscriptionsState.recount

    @rx.event
    def set_min(self, name: str, value: str):
        self._update(name, lambda row: setattr(row, "min", value))
        return SubscriptionsState.recount

    @rx.event
    def set_max(self, name: str, value: str):
        self._update(name, lambda row: setattr(row, "max", value))
        return SubscriptionsState.recount

    @rx.event
    def set_zips(self, name: str, value: str):
        self._update(name, lambda row: setattr(row, "zips", value))
        return SubscriptionsState.recount

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

    @rx.event
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

    @rx.event
    @guarded
    def subscribe(self, principal):
        if not self.level_id:
            self.form_error = "Choose a competition level."
            return
        filters = self._collect()
        if filters is None:
            return
        yield from self._save(
            principal,
            lambda: catalog.create_subscription(
                competition_level_id=uuid.UUID(self.level_id), filters=filters, actor=principal.actor
            ),
            "Subscribed: matching leads come to you from now on.",
        )

    @rx.event
    @guarded
    def start_edit(self, principal, subscription_id: str):
        sub = next(
            (s for s in subscriptions.provider_subscriptions(principal.actor) if s["id"] == subscription_id), None
        )
        if sub is None:
            return rx.toast.error("No such subscription.")
        self._reset_form()
        niche = self._niche(sub["niche_id"])
        fields = niche["fields"] if niche else []
        self.fields, self._extra = _builder_fields(fields, sub["filters"], sub["filter_problems"])
        self.niche_id = sub["niche_id"]
        self.editing_id = subscription_id
        self.editing_label = f"{sub['niche']} · {sub['level']}"
        self.mode = "edit"
        return SubscriptionsState.recount

    @rx.event
    @guarded
    def save_edit(self, principal):
        filters = self._collect()
        if filters is None:
            return
        yield from self._save(
            principal,
            lambda: catalog.update_subscription(
                subscription_id=uuid.UUID(self.editing_id), actor=principal.actor, filters=filters
            ),
            "Filters saved: they apply to leads distributed from now on.",
        )

    def _save(self, principal, write, success: str):
        """Run ``write`` (the catalog call) with the form busy: bad filters are marked on
        their rows, other refusals on the form; done, the form closes and the list reloads."""
        self.saving = True
        yield
        try:
            write()
        except InvalidFilters as exc:
            self._mark(exc.details)
            yield rx.toast.error(exc.message)
            return
        except DomainError as exc:
            self.form_error = exc.message
            yield rx.toast.error(exc.message)
            return
        finally:
            self.saving = False
        self._reset_form()
        self.mode = ""
        self._reload(principal.actor)
        yield rx.toast.success(success)

    # ------------------------------------------------------------------ list actions

    def _change(self, subscription_id: str, done: str, **change):
        principal = self.provider()
        if principal is None:
            return rx.redirect(routes.SIGN_IN)
        try:
            if change.get("cancel"):
                catalog.cancel_subscription(subscription_id=uuid.UUID(subscription_id), actor=principal.actor)
            else:
                sub = catalog.update_subscription(
                    subscription_id=uuid.UUID(subscription_id), actor=principal.actor, active=change["active"]
                )
                if change["active"] and not sub.active:
                    done = "Your balance is below this level's price: it stays paused until you add funds."
        except DomainError as exc:
            return rx.toast.error(exc.message)
        self._reload(principal.actor)
        return rx.toast.success(done)

    @rx.event
    def pause(self, subscription_id: str):
        return self._change(subscription_id, "Paused: no new leads from this subscription.", active=False)

    @rx.event
    def resume(self, subscription_id: str):
        return self._change(subscription_id, "Resumed.", active=True)

    @rx.event
    def cancel(self, subscription_id: str):
        return self._change(subscription_id, "Subscription cancelled.", cancel=True)


S = SubscriptionsState


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


def _builder() -> rx.Component:
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


def _level_choice(level: dict) -> rx.Component:
    chosen = S.level_id == level["id"]
    return rx.card(
        rx.vstack(
            rx.text(level["name"], weight="bold"),
            rx.text(level["price"], " per lead", size="2"),
            rx.text("shared by at most ", level["max_providers"], " providers", size="2", color_scheme="gray"),
            rx.cond(level["subscribed"] == "1", rx.badge("already subscribed", color_scheme="gray")),
            rx.button(
                rx.cond(chosen, "Chosen", "Choose"),
                size="1",
                variant=rx.cond(chosen, "solid", "outline"),
                on_click=S.choose_level(level["id"]),
                class_name="choose-level",
            ),
            spacing="1",
        ),
        flex="1 1 12em",
        border=rx.cond(chosen, "2px solid var(--accent-9)", "1px solid transparent"),
        class_name="level-choice",
        id="level-" + level["id"],
    )


def _form() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.cond(
                S.mode == "new",
                rx.vstack(
                    rx.heading("New subscription", size="4"),
                    rx.text("1. Niche", weight="medium"),
                    rx.el.select(
                        rx.el.option("Choose a niche…", value=""),
                        rx.foreach(S.niches, lambda n: rx.el.option(n["name"], value=n["id"])),
                        value=S.niche_id,
                        on_change=S.choose_niche,
                        id="niche-select",
                        style={"padding": "0.4em", "max_width": "100%", "border_radius": "6px"},
                    ),
                    rx.cond(
                        S.niche_id != "",
                        rx.vstack(
                            rx.text("2. Competition level", weight="medium"),
                            rx.flex(rx.foreach(S.levels, _level_choice), wrap="wrap", spacing="3", width="100%"),
                            width="100%",
                        ),
                    ),
                    spacing="2",
                    width="100%",
                ),
                rx.vstack(
                    rx.heading("Edit filters: ", S.editing_label, size="4"),
                    rx.callout(
                        "Filter changes apply to future leads only: leads you already received stay yours.",
                        icon="info",
                        id="future-only-note",
                        width="100%",
                    ),
                    width="100%",
                ),
            ),
            rx.cond(S.niche_id != "", _builder()),
            rx.cond(S.form_error != "", rx.text(S.form_error, color="red", size="2", role="alert", id="form-error")),
            rx.hstack(
                rx.cond(
                    S.mode == "new",
                    rx.button(
                        "Subscribe",
                        on_click=S.subscribe,
                        loading=S.saving,
                        disabled=S.level_id == "",
                        id="subscribe-button",
                    ),
                    rx.button("Save filters", on_click=S.save_edit, loading=S.saving, id="save-filters"),
                ),
                rx.button("Close", variant="soft", color_scheme="gray", on_click=S.close_form),
                spacing="2",
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
        id="subscription-form",
    )


def _actions(sub: dict) -> rx.Component:
    return rx.hstack(
        rx.cond(
            sub["active"] == "1",
            rx.button("Pause", size="1", variant="soft", on_click=S.pause(sub["id"]), class_name="pause"),
            rx.cond(
                sub["can_resume"] == "1",
                rx.button("Resume", size="1", variant="soft", on_click=S.resume(sub["id"]), class_name="resume"),
            ),
        ),
        rx.button(
            "Edit filters", size="1", variant="outline", on_click=S.start_edit(sub["id"]), class_name="edit-filters"
        ),
        confirm_dialog(
            "Cancel this subscription?",
            (
                "You will stop receiving leads from ",
                sub["niche"],
                " · ",
                sub["level"],
                ". This cannot be undone; you can subscribe again later.",
            ),
            trigger=rx.button("Cancel", size="1", color_scheme="red", variant="ghost", class_name="cancel-sub"),
            confirm=rx.button("Cancel subscription", color_scheme="red", on_click=S.cancel(sub["id"])),
            cancel_label="Keep it",
            close_on_confirm=True,
        ),
        spacing="2",
        wrap="wrap",
    )


def _table() -> rx.Component:
    headers = ["Niche", "Level", "Price", "Max providers", "Status", "Filters", ""]
    return data_table(
        headers,
        S.subs,
        lambda sub: rx.table.row(
            rx.table.cell(sub["niche"]),
            rx.table.cell(sub["level"]),
            rx.table.cell(sub["price"]),
            rx.table.cell(sub["max_providers"]),
            rx.table.cell(rx.badge(sub["status"], color_scheme=rx.cond(sub["active"] == "1", "green", "amber"))),
            rx.table.cell(sub["filters"]),
            rx.table.cell(_actions(sub)),
            id="sub-" + sub["id"],
            class_name="subscription-row",
        ),
    )


@rx.page(route=routes.PROVIDER_SUBSCRIPTIONS, title="Subscriptions" + TITLE_SUFFIX, on_load=S.load)
def provider_subscriptions() -> rx.Component:
    return provider_layout(
        loading_or(
            S.loading,
            rx.vstack(
                rx.cond(S.mode != "", _form()),
                rx.cond(
                    S.subs.length() > 0,
                    _table(),
                    empty_state(
                        "No subscriptions yet: subscribe to a niche to start receiving leads.", id="subs-empty"
                    ),
                ),
                spacing="4",
                width="100%",
            ),
        ),
        title="Subscriptions",
        on_sign_out=S.sign_out,
        actions=rx.button("New subscription", on_click=S.start_new, id="new-subscription"),
    )
