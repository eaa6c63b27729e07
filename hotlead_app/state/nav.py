"""The admin navigation's live approval backlog.

Usage on any admin page::

    from hotlead_app.state.nav import queue_badge

    admin_layout(..., queue_badge=queue_badge())

The badge starts, when it mounts, one background task per browser tab
(:meth:`NavState.watch`) that asks the database every ``POLL_SECONDS`` for the
queue's size (one index scan) while the tab is connected and on an admin page.  A
page that wants to reload when the queue changes registers a handler for its route
with :func:`refresh_on_change` (the approval queue does).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import reflex as rx

from hotlead_app.services import auth
from hotlead_app.services.reads import approval_queue
from hotlead_app.state.events import event
from hotlead_app.state.session import SessionState

log = logging.getLogger(__name__)

POLL_SECONDS = 2.0
#: Stop after this many polls in a row on a page outside the admin console.
AWAY_POLLS = 5
#: Stop after this long even if the tab looks connected (a new one starts on the next page).
MAX_WATCH_SECONDS = 4 * 3600

_REFRESH_ON_CHANGE: dict[str, Any] = {}


def refresh_on_change(route: str, handler: Any) -> None:
    """Send ``handler`` (an event handler taking no argument) to the tab whenever the
    backlog changes while the tab shows ``route``."""
    _REFRESH_ON_CHANGE[route] = handler


async def _connected(token: str) -> bool:
    """Whether the browser tab of this client token still has its websocket."""
    try:
        from reflex.utils.prerequisites import get_and_validate_app

        namespace = get_and_validate_app().app.event_namespace
        if namespace is None:
            return True
        return await namespace._token_manager.is_token_connected(token)
    except Exception:  # an unknown Reflex internals change: fall back to the time limit
        log.debug("cannot tell whether %s is connected", token, exc_info=True)
        return True


def _admin_backlog(token: str) -> approval_queue.Backlog | None:
    """The backlog, or None when the token is not an admin's live session."""
    try:
        principal = auth.authenticate_sealed(sealed=token)
    except auth.NotAuthenticated:
        return None
    if principal.role != "admin":
        return None
    return approval_queue.backlog(principal.actor)


class _Stop(Exception):
    """Why a watcher ends."""


class NavState(SessionState):
    backlog: rx.Field[int] = rx.field(0)
    backlog_loaded: rx.Field[bool] = rx.field(False)
    _signature: str = ""
    _beat: float = 0.0

    @event(background=True)
    async def watch(self):
        async with self:
            if time.time() - self._beat < 3 * POLL_SECONDS:
                return  # this tab already has a live watcher
            self._beat = time.time()
            token = self.token
            client = self.router.session.client_token
            route = self.router.route_id
        started = time.time()
        log.info(
            "approval backlog watcher started", extra={"event": "nav.watch_started", "client": client, "route": route}
        )
        stopped = "time limit"
        try:
            async for refresh in _poll(self, token, client, started):
                yield refresh
        except _Stop as stop:
            stopped = str(stop)
        log.info(
            "approval backlog watcher stopped: %s",
            stopped,
            extra={"event": "nav.watch_stopped", "client": client, "reason": stopped},
        )


async def _poll(self, token: str, client: str, started: float):
    """The watcher's loop; ``self`` is the background task's state proxy (a method
    would be bound to the bare state, which has no ``async with``)."""
    away = 0
    while time.time() - started < MAX_WATCH_SECONDS:
        try:
            queue = await asyncio.to_thread(_admin_backlog, token)
        except Exception:
            log.exception("approval backlog poll failed")
            queue = None
        refresh = None
        async with self:
            route = self.router.route_id
            signed_out = token != self.token or queue is None
            if signed_out or queue is None:
                self._beat = 0.0  # signed out, or not an admin: the next page starts anew
            else:
                self._beat = time.time()
                self.backlog = queue.count
                self.backlog_loaded = True
                if queue.signature != self._signature:
                    changed = bool(self._signature)
                    self._signature = queue.signature
                    if changed:
                        refresh = _REFRESH_ON_CHANGE.get(route)
        if signed_out:
            raise _Stop("signed out")
        if refresh is not None:
            yield refresh
        # The first polls may still see the page the tab came from (the sign-in
        # page's redirect): only a tab that stays away from the admin pages stops.
        away = 0 if route.startswith("/admin") else away + 1
        if away >= AWAY_POLLS:
            async with self:
                self._beat = 0.0
            raise _Stop("left the admin pages")
        await asyncio.sleep(POLL_SECONDS)
        if not await _connected(client):
            async with self:
                self._beat = 0.0
            raise _Stop("tab disconnected")


def queue_badge() -> rx.Component:
    """The approval backlog for the "Queue" link; mounting it starts the watcher."""
    return rx.badge(
        NavState.backlog.to_string(),
        color_scheme=rx.cond(NavState.backlog > 0, "orange", "gray"),
        variant="solid",
        radius="full",
        id="nav-queue-count",
        aria_label=NavState.backlog.to_string() + " leads waiting for approval",
        on_mount=NavState.watch,
    )
