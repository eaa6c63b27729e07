"""The back-office navigation's menu button on a narrow screen: open or closed.

Below the ``md`` breakpoint the sections hide behind a "Menu" button (a disclosure:
``aria-expanded`` says which; Enter or Space toggles it); choosing a section closes
the menu again."""

from __future__ import annotations

import reflex as rx

from hotlead_app.state.events import event


class MenuState(rx.State):
    open: rx.Field[bool] = rx.field(False)

    @event
    def toggle(self):
        self.open = not self.open

    @event
    def close(self):
        self.open = False
