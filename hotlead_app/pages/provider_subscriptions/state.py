"""The subscriptions page's base state: the provider's subscriptions and the niches
it may subscribe to (loaded with the page), which form is open over the list, and the
list's own actions (pause, resume, cancel)."""

from __future__ import annotations

import uuid

import reflex as rx

from hotlead_app import routes
from hotlead_app.components import format as fmt
from hotlead_app.domain.actors import Actor
from hotlead_app.domain.errors import DomainError
from hotlead_app.services import catalog
from hotlead_app.services.reads import subscriptions
from hotlead_app.state.events import event
from hotlead_app.state.guards import ProviderPageState, guarded


class SubscriptionsState(ProviderPageState):
    subs: rx.Field[list[dict[str, str]]] = rx.field(default_factory=list)
    loading: rx.Field[bool] = rx.field(True)
    niches: rx.Field[list[dict[str, str]]] = rx.field(default_factory=list)
    _options: list[dict] = []
    # the form open over the list: "new" subscription or "edit" filters of one
    mode: rx.Field[str] = rx.field("")

    def _reload(self, actor: Actor) -> None:
        self.subs = [
            {
                "id": s["id"],
                "niche": s["niche"],
                "level": s["level"],
                "price": fmt.money(s["price_per_lead"]),
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

    @event
    @guarded
    def load(self, principal):
        self._reload(principal.actor)
        self.mode = ""
        self.loading = False

    def _niche(self, niche_id: str) -> dict | None:
        return next((n for n in self._options if n["id"] == niche_id), None)

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

    @event
    def pause(self, subscription_id: str):
        return self._change(subscription_id, "Paused: no new leads from this subscription.", active=False)

    @event
    def resume(self, subscription_id: str):
        return self._change(subscription_id, "Resumed.", active=True)

    @event
    def cancel(self, subscription_id: str):
        return self._change(subscription_id, "Subscription cancelled.", cancel=True)
