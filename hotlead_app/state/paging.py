"""Keyset pages for the back-office lists: the stack of cursors each visited page
started from, the cursor of the next page, and the previous / next handlers.

Mix ``KeysetPages`` into a page state that also has a ``_guard()`` (the admin and
provider bases in ``state/guards.py``) and implement ``_show_page(principal, start)``:
it loads the page that starts at ``start`` (``None`` for the first page), keeps it with
``_take_page`` (or calls ``_found_next``) and may return an event to chain."""

from __future__ import annotations

from typing import Any

import reflex as rx

from hotlead_app.domain.errors import DomainError
from hotlead_app.state.events import event
from hotlead_app.state.guards import guarded


class KeysetPages(rx.State, mixin=True):
    has_prev: rx.Field[bool] = rx.field(False)
    has_next: rx.Field[bool] = rx.field(False)
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

    def _take_page(self, rows: list, size: int, cursor_of) -> list:
        """The page in view: the first ``size`` of ``rows`` (the service was asked for one
        more, to know whether a next page exists); the next one starts at
        ``cursor_of(last row shown)``."""
        shown = rows[:size]
        self._found_next(cursor_of(shown[-1]) if len(rows) > size else None)
        return shown

    def _first_page(self, principal):
        self._reset_pages()
        return self._show_page(principal, None)

    def _reload_page(self, principal):
        """The page in view again (after a change to the rows)."""
        return self._show_page(principal, self._page_starts[-1])

    def _drop_page(self) -> bool:
        """Step back to the previous page's start; False on the first page."""
        if len(self._page_starts) <= 1:
            return False
        self._page_starts = self._page_starts[:-1]
        self.has_prev = len(self._page_starts) > 1
        return True

    @event
    @guarded
    def next_page(self, principal):
        if self._next_start is None:
            return None
        self._page_starts = [*self._page_starts, self._next_start]
        self.has_prev = True
        return self._show_page(principal, self._page_starts[-1])

    @event
    @guarded
    def prev_page(self, principal):
        if not self._drop_page():
            return None
        return self._reload_page(principal)


class FilteredPages(KeysetPages, mixin=True):
    """Keyset pages behind a filter form (an admin list). ``_filter_names()`` names the
    filters; ``?name=value`` in the URL opens the list filtered; ``_apply(principal,
    values)`` keeps the filters and shows the first page (errors next to their field).
    The page state has a ``loading`` var."""

    def _filter_names(self) -> tuple[str, ...]:  # pragma: no cover - every page defines it
        raise NotImplementedError

    def _apply(self, principal, values: dict[str, str]) -> None:  # pragma: no cover - every page defines it
        raise NotImplementedError

    def _filter_values(self, source) -> dict[str, str]:
        return {name: str(source.get(name, "")) for name in self._filter_names()}

    @event
    @guarded
    def load(self, principal):
        self.loading = True
        self._apply(principal, self._filter_values(self.router.url.query_parameters))
        self.loading = False

    @event
    @guarded
    def filter(self, principal, form_data: dict):
        try:
            self._apply(principal, self._filter_values(form_data))
        except DomainError as exc:
            return rx.toast.error(exc.message)
