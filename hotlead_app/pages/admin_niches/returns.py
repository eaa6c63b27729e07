"""A niche's return settings (DOMAIN.md "Returns"): the window in hours, the reason
codes offered to providers (one ``code: label`` per line), the cap on a provider's
return rate and the rate below which a request is approved at once."""

from __future__ import annotations

import uuid

import reflex as rx

from hotlead_app.domain.errors import DomainError
from hotlead_app.pages.admin_niches.field_editor import labelled
from hotlead_app.pages.admin_niches.levels import _int_or_raw
from hotlead_app.pages.admin_niches.state import NichesState
from hotlead_app.services import catalog
from hotlead_app.services.reads import niches as niche_reads
from hotlead_app.state.events import event
from hotlead_app.state.guards import guarded


def reasons_text(reasons: list[dict]) -> str:
    return "\n".join(f"{r['code']}: {r['label']}" for r in reasons)


def parse_reasons(text: str) -> object:
    """``code: label`` lines → ``[{code, label}]``; a line without ``:`` is sent as it is,
    for the service to name it."""
    parsed: list[object] = []
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        code, sep, label = line.partition(":")
        parsed.append({"code": code.strip(), "label": label.strip()} if sep else line.strip())
    return parsed


class ReturnSettings(NichesState):
    rs_niche_id: str = ""
    rs_name: str = ""
    rs_window: str = ""
    rs_max_rate: str = ""
    rs_auto: str = ""
    rs_reasons: str = ""
    rs_errors: dict[str, str] = {}

    @event
    @guarded
    def open_returns(self, principal, niche_id: str):
        try:
            niche = niche_reads.niche_detail(principal.actor, niche_id=uuid.UUID(niche_id))
        except (ValueError, DomainError):
            return rx.toast.error("No such niche.")
        self.rs_niche_id, self.rs_name = niche_id, niche["name"]
        self.rs_window = str(niche["return_window_hours"])
        self.rs_max_rate = str(niche["max_return_rate_percent"])
        self.rs_auto = str(niche["auto_approve_returns_below_percent"])
        self.rs_reasons = reasons_text(niche["return_reasons"])
        self.rs_errors = {}

    @event
    def close_returns(self):
        self.rs_niche_id = ""

    @event
    def set_rs_window(self, value: str):
        self.rs_window = value

    @event
    def set_rs_max_rate(self, value: str):
        self.rs_max_rate = value

    @event
    def set_rs_auto(self, value: str):
        self.rs_auto = value

    @event
    def set_rs_reasons(self, value: str):
        self.rs_reasons = value

    @event
    @guarded
    def save_returns(self, principal):
        values = {
            "return_window_hours": _int_or_raw(self.rs_window),
            "max_return_rate_percent": _int_or_raw(self.rs_max_rate),
            "auto_approve_returns_below_percent": _int_or_raw(self.rs_auto),
            "return_reasons": parse_reasons(self.rs_reasons),
        }
        try:
            catalog.update_niche(niche_id=uuid.UUID(self.rs_niche_id), actor=principal.actor, values=values)
        except DomainError as exc:
            errors = {k: str(v) for k, v in exc.details.items()}
            reasons = "; ".join(f"{k}: {v}" for k, v in errors.items() if k.startswith("return_reasons"))
            self.rs_errors = {**errors, "return_reasons": reasons} if reasons else errors
            return rx.toast.error(exc.message)
        self.rs_errors = {}
        self.rs_niche_id = ""
        return rx.toast.success(f"Saved the return settings of {self.rs_name}.")


S = ReturnSettings


def returns_panel() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading("Returns of ", S.rs_name, size="4"),
            rx.flex(
                labelled(
                    "Window (hours after the lead was received)",
                    rx.input(value=S.rs_window, on_change=S.set_rs_window, id="rs-window", width="8em"),
                    S.rs_errors.get("return_window_hours", ""),
                    "rs-window",
                ),
                labelled(
                    "Most returns (% of a provider's leads, 30 days)",
                    rx.input(value=S.rs_max_rate, on_change=S.set_rs_max_rate, id="rs-max-rate", width="8em"),
                    S.rs_errors.get("max_return_rate_percent", ""),
                    "rs-max-rate",
                ),
                labelled(
                    "Approve at once below (% approved, 30 days; 0 = never)",
                    rx.input(value=S.rs_auto, on_change=S.set_rs_auto, id="rs-auto", width="8em"),
                    S.rs_errors.get("auto_approve_returns_below_percent", ""),
                    "rs-auto",
                ),
                spacing="3",
                wrap="wrap",
                width="100%",
            ),
            labelled(
                "Reasons offered (one per line, code: label)",
                rx.text_area(value=S.rs_reasons, on_change=S.set_rs_reasons, id="rs-reasons", rows="6", width="100%"),
                S.rs_errors.get("return_reasons", ""),
                "rs-reasons",
            ),
            rx.hstack(
                rx.button("Save", on_click=S.save_returns, id="rs-save"),
                rx.button("Cancel", variant="soft", color_scheme="gray", on_click=S.close_returns),
                spacing="2",
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
        id="return-settings",
    )
