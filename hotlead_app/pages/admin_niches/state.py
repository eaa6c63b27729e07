"""The niches page's base state: the list of niches (loaded with the page) and
opening / closing a niche; the editor and the levels are its substates."""

from __future__ import annotations

import uuid

import reflex as rx

from hotlead_app import routes
from hotlead_app.domain.actors import Actor
from hotlead_app.domain.errors import DomainError
from hotlead_app.services import catalog
from hotlead_app.services.reads import niches as niche_reads
from hotlead_app.state.events import event
from hotlead_app.state.guards import AdminPageState, guarded


def _levels_text(health: niche_reads.NicheHealth | None) -> str:
    """ "3 levels (1 active)", "2 levels", "1 level", "No level"."""
    if health is None or health["level_count"] == 0:
        return "No level"
    total, active = health["level_count"], health["active_level_count"]
    text = f"{total} level{'s' if total != 1 else ''}"
    return text if active == total else f"{text} ({active} active)"


def _warning_text(health: niche_reads.NicheHealth | None) -> str:
    return (health["warning"] if health is not None else None) or ""


class NichesState(AdminPageState):
    niches: rx.Field[list[dict[str, str]]] = rx.field(default_factory=list)
    loading: rx.Field[bool] = rx.field(True)

    def _reload(self, actor: Actor) -> None:
        health = niche_reads.niche_health(actor)
        self.niches = [
            {
                "id": n["id"],
                "slug": n["slug"],
                "name": n["name"],
                "active": "yes" if n["active"] else "no",
                "fields": str(len(n["fields"])),
                "href": routes.lead_form(n["slug"]),
                "levels": _levels_text(health.get(n["id"])),
                "warning": _warning_text(health.get(n["id"])),
            }
            for n in niche_reads.list_niches(actor)
        ]

    @event
    @guarded
    def load(self, principal):
        self.loading = True
        self._reload(principal.actor)
        self.loading = False

    @event
    @guarded
    def set_niche_active(self, principal, niche_id: str, active: bool):
        try:
            niche = catalog.update_niche(niche_id=uuid.UUID(niche_id), actor=principal.actor, values={"active": active})
        except DomainError as exc:
            return rx.toast.error(exc.message)
        self._reload(principal.actor)
        return rx.toast.success(f"{niche.name} is {'open again' if active else 'closed'}.")
