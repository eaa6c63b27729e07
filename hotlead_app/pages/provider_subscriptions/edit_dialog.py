"""The form over the list: a new subscription (niche, competition level, filters,
schedule, caps; the approved leads waiting now and whether to take them) or the
filters, schedule and caps of an existing one (future leads only)."""

from __future__ import annotations

import uuid

import reflex as rx

from hotlead_app.components import format as fmt
from hotlead_app.domain.errors import DomainError, InvalidFilters
from hotlead_app.pages.provider_subscriptions.controls_editor import ControlsEditor, controls_editor
from hotlead_app.pages.provider_subscriptions.filter_builder import AFTER_COUNT, FilterBuilder, builder, builder_fields
from hotlead_app.services import catalog
from hotlead_app.services.reads import subscriptions
from hotlead_app.state.events import event
from hotlead_app.state.guards import guarded


class SubscriptionForm(ControlsEditor):
    editing_id: rx.Field[str] = rx.field("")
    editing_label: rx.Field[str] = rx.field("")
    level_id: rx.Field[str] = rx.field("")
    levels: rx.Field[list[dict[str, str]]] = rx.field(default_factory=list)
    saving: rx.Field[bool] = rx.field(False)
    # the approved leads waiting now that the chosen level's filters match (-1: unknown)
    waiting_count: rx.Field[int] = rx.field(-1)
    waiting_total: rx.Field[str] = rx.field("")
    take_waiting: rx.Field[bool] = rx.field(False)

    def _reset_form(self) -> None:
        self.editing_id = self.editing_label = self.niche_id = self.level_id = self.form_error = ""
        self.levels, self.fields, self._extra = [], [], {}
        self.matched, self.total = -1, 0
        self.waiting_count, self.waiting_total, self.take_waiting = -1, "", False
        self._reset_controls()

    @event
    @guarded
    def count_waiting(self, principal):
        """How many approved leads wait now for the chosen level and these filters."""
        if self.mode != "new" or not self.level_id:
            return
        filters = self._collect()
        if filters is None:
            return
        try:
            found = catalog.waiting_leads(
                competition_level_id=uuid.UUID(self.level_id), actor=principal.actor, filters=filters
            )
        except DomainError:
            self.waiting_count = -1
            return
        self.waiting_count, self.waiting_total = found["count"], fmt.money(found["total_price"])

    @event
    def set_take_waiting(self, value: bool):
        self.take_waiting = value

    @event
    def start_new(self):
        self._reset_form()
        self.mode = "new"

    @event
    def open_from_query(self):
        """``?edit=<subscription id>`` opens that subscription's form (the "why not me"
        links), ``?new=1`` the new subscription form."""
        params = self.router.url.query_parameters
        if params.get("edit"):
            return SubscriptionForm.start_edit(str(params["edit"]))
        if params.get("new"):
            self._reset_form()
            self.mode = "new"
        return None

    @event
    def close_form(self):
        self._reset_form()
        self.mode = ""

    @event
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
                "price": fmt.money(lvl["price_per_lead"]),
                "max_providers": str(lvl["max_providers"]),
                "subscribed": "1" if lvl["subscribed"] else "",
            }
            for lvl in niche["levels"]
        ]
        self.fields, self._extra = builder_fields(niche["fields"], {})
        return FilterBuilder.recount

    @event
    def choose_level(self, level_id: str):
        self.level_id = level_id
        self.form_error = ""
        return FilterBuilder.recount

    @event
    @guarded
    def subscribe(self, principal):
        if not self.level_id:
            self.form_error = "Choose a competition level."
            return
        filters = self._collect()
        if filters is None:
            return
        schedule, caps = self._controls()
        take = self.take_waiting and self.waiting_count > 0
        if take:
            success = f"Subscribed: {self.waiting_count} waiting leads are being sent to you, then new ones."
        else:
            success = "Subscribed: future leads only — matching leads approved from now on come to you."
        yield from self._save(
            principal,
            lambda: catalog.create_subscription(
                competition_level_id=uuid.UUID(self.level_id),
                filters=filters,
                actor=principal.actor,
                schedule=schedule,
                caps=caps,
                take_waiting=take,
            ),
            success,
        )

    @event
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
        self.fields, self._extra = builder_fields(fields, sub["filters"], sub["filter_problems"])
        self._reset_controls(sub["schedule"], sub["caps"])
        self.niche_id = sub["niche_id"]
        self.editing_id = subscription_id
        self.editing_label = f"{sub['niche']} · {sub['level']}"
        self.mode = "edit"
        return FilterBuilder.recount

    @event
    @guarded
    def save_edit(self, principal):
        filters = self._collect()
        if filters is None:
            return
        schedule, caps = self._controls()
        yield from self._save(
            principal,
            lambda: catalog.update_subscription(
                subscription_id=uuid.UUID(self.editing_id),
                actor=principal.actor,
                filters=filters,
                schedule=schedule,
                caps=caps,
            ),
            "Saved: the filters, schedule and caps apply to leads distributed from now on.",
        )

    def _save(self, principal, write, success: str):
        """Run ``write`` (the catalog call) with the form busy: bad filters are marked on
        their rows, other refusals on the form; done, the form closes and the list reloads."""
        self.saving = True
        yield
        try:
            write()
        except InvalidFilters as exc:
            self._mark(self._mark_controls(exc.details))
            yield rx.toast.error(exc.message)
            return
        except DomainError as exc:
            rest = self._mark_controls(exc.details or {})
            self.form_error = exc.message if rest or not exc.details else ""
            yield rx.toast.error(exc.message)
            return
        finally:
            self.saving = False
        self._reset_form()
        self.mode = ""
        self._reload(principal.actor)
        yield rx.toast.success(success)


S = SubscriptionForm
AFTER_COUNT.append(SubscriptionForm.count_waiting)


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


def subscription_form() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.cond(
                S.mode == "new",
                rx.vstack(
                    rx.heading("New subscription", size="4"),
                    rx.el.label(rx.text("1. Niche", weight="medium"), html_for="niche-select"),
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
                    rx.heading("Edit: ", S.editing_label, size="4"),
                    rx.callout(
                        "Changes apply to future leads only: leads you already received stay yours.",
                        icon="info",
                        id="future-only-note",
                        width="100%",
                    ),
                    width="100%",
                ),
            ),
            rx.cond(S.niche_id != "", builder()),
            rx.cond(S.niche_id != "", controls_editor()),
            rx.cond(
                (S.mode == "new") & (S.level_id != "") & (S.waiting_count >= 0),
                rx.callout(
                    rx.vstack(
                        rx.text(
                            rx.text.strong(S.waiting_count.to_string()),
                            " approved leads are waiting (total ",
                            S.waiting_total,
                            ").",
                            id="waiting-leads",
                        ),
                        rx.checkbox(
                            "Also take the leads waiting now",
                            checked=S.take_waiting,
                            on_change=S.set_take_waiting,
                            disabled=S.waiting_count == 0,
                            id="take-waiting",
                        ),
                        rx.text(
                            "Unticked, this subscription takes only leads approved from now on.",
                            size="1",
                            color_scheme="gray",
                        ),
                        spacing="1",
                    ),
                    icon="inbox",
                    width="100%",
                    id="waiting-callout",
                ),
            ),
            rx.cond(
                S.form_error != "", rx.text(S.form_error, color_scheme="red", size="2", role="alert", id="form-error")
            ),
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
                    rx.button("Save", on_click=S.save_edit, loading=S.saving, id="save-filters"),
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
