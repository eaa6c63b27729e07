"""Keyset pages for the back-office lists: the stack of cursors each visited page
started from, the cursor of the next page, and the previous / next handlers.

Mix ``KeysetPages`` into a page state that also has a ``_guard()`` (the admin and
provider bases in ``state/guards.py``) and implement ``_show_page(principal, start)``:
it loads the page that starts at ``start`` (``None`` for the first page), calls
``_found_next(cursor or None)`` and may return an event to chain."""

from __future__ import annotations

from typing import Any

import reflex as rx

from hotlead_app import routes


class KeysetPages(rx.State, mixin=True):
    has_prev: bool = False
    has_next: bool = False
    _page_starts: list = [None]
    _next_start: Any = None

    def _show_page(self, principal, start):  # pragma: no cover - every page defines it
        raise NotImplementedError

    def _reset_pages(self) -> None:
        """Back to the first page (new filters): no previous page, no next one known yet."""
        self._page_starts = [None]
        self.has_prev = False
        self._found_next(None)

    def _found_next(self, cursor) -> None:
        """The page in view has a next one starting at ``cursor`` (``None``: it is the last)."""
        self._next_start = cursor
        self.has_next = cursor is not None

    def _first_page(self, principal):
        self._reset_pages()
        return self._show_page(principal, None)

    @rx.event
    def next_page(self):
        principal = self._guard()
        if principal is None:
            return rx.redirect(routes.SIGN_IN)
        if self._next_start is None:
            return None
        self._page_starts = [*self._page_starts, self._next_start]
        self.has_prev = True
        return self._show_page(principal, self._page_starts[-1])

    @rx.event
    def prev_page(self):
        principal = self._guard()
        if principal is None:
            return rx.redirect(routes.SIGN_IN)
        if len(self._page_starts) <= 1:
            return None
        self._page_starts = self._page_starts[:-1]
        self.has_prev = len(self._page_starts) > 1
        return self._show_page(principal, self._page_starts[-1])
