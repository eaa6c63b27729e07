"""The state of an admin confirmation dialog that asks why: one dialog open at a time
(``dialog`` names it, "" when none), the reason (required, its error shown under the
field), an admin-only memo, and ``busy`` while the action runs."""

from __future__ import annotations

import reflex as rx

from hotlead_app.state.events import event


class ReasonDialog(rx.State, mixin=True):
    dialog: rx.Field[str] = rx.field("")
    reason: rx.Field[str] = rx.field("")
    memo: rx.Field[str] = rx.field("")
    reason_error: rx.Field[str] = rx.field("")
    busy: rx.Field[bool] = rx.field(False)

    @event
    def set_reason(self, value: str):
        self.reason = value
        if value.strip():
            self.reason_error = ""

    @event
    def set_memo(self, value: str):
        self.memo = value

    @event
    def set_dialog_open(self, is_open: bool):
        if not is_open:
            self.dialog = ""
