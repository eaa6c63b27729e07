"""``event``: ``rx.event`` as mypy should see it.

Reflex 0.10 declares ``rx.event`` as the class ``EventNamespace`` whose ``__new__``
returns an ``EventCallback`` (or a decorator making one).  mypy ignores a ``__new__``
that returns something other than an instance of its class, so ``@rx.event`` handlers
type as ``EventNamespace`` and calling one (``State.pick(row_id)``) is "not callable".
This module hands out the very same object under the overloads of that ``__new__``, so
every handler types as Reflex means it to: ``EventCallback[arg types]``, whose call
takes each value or a ``Var`` of it.  At runtime ``event is rx.event``.

Usage in a state class::

    from hotlead_app.state.events import event

    @event
    def pick(self, row_id: str) -> None: ...

    @event(background=True)
    async def watch(self) -> None: ...
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar, TypeVarTuple, Unpack, cast, overload

import reflex as rx
from reflex.event import EventCallback

__all__ = ["event"]

P = TypeVarTuple("P")
S = TypeVar("S")


class _Event(Protocol):
    """The two overloads of ``EventNamespace.__new__`` (reflex_base/event)."""

    @overload
    def __call__(
        self,
        func: Callable[[S, Unpack[P]], Any],
        /,
        *,
        background: bool | None = None,
        supersedes: bool | None = None,
        stop_propagation: bool | None = None,
        prevent_default: bool | None = None,
        throttle: int | None = None,
        debounce: int | None = None,
        temporal: bool | None = None,
    ) -> EventCallback[*P]: ...

    @overload
    def __call__(
        self,
        func: None = None,
        /,
        *,
        background: bool | None = None,
        supersedes: bool | None = None,
        stop_propagation: bool | None = None,
        prevent_default: bool | None = None,
        throttle: int | None = None,
        debounce: int | None = None,
        temporal: bool | None = None,
    ) -> Callable[[Callable[[S, Unpack[P]], Any]], EventCallback[*P]]: ...


event = cast(_Event, rx.event)
