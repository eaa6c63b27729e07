"""``ObjectField``: a state var holding a dict, typed so mypy sees an ``ObjectVar``.

Declare a dict-valued var as::

    errors: ObjectField[dict[str, str]] = object_field(dict)

and not as ``rx.Field[dict[str, str]]``.  Reflex 0.10 types ``Field.__get__`` on the
class with overloads whose ``self`` is generic (``Field[SEQUENCE_TYPE]``, then
``Field[MAPPING_TYPE]``).  mypy erases those type variables to ``Any`` when it picks
the overload, so the sequence one matches first and ``State.errors`` types as
``ArrayVar[Never]``: no ``.get``, no ``["key"]``, not an ``ObjectVar``.  (Scalars and
lists are fine: their overloads come first or are what we want.)

At runtime ``ObjectField is rx.Field`` and ``object_field(dict)`` is
``rx.field(default_factory=dict)``: Reflex sees exactly the declaration it would see
with ``rx.Field``.  Only the static view differs: on the class an ``ObjectVar`` of the
mapping, on an instance the mapping itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast, overload

import reflex as rx

__all__ = ["ObjectField", "object_field"]

M = TypeVar("M", bound=Mapping[str, Any])

if TYPE_CHECKING:
    from reflex.vars import ObjectVar

    class ObjectField(Generic[M]):
        """The static view of ``rx.Field[M]`` for a mapping ``M``."""

        @overload
        def __get__(self, instance: None, owner: Any) -> ObjectVar[M]: ...

        @overload
        def __get__(self, instance: object, owner: Any) -> M: ...

        def __get__(self, instance: object | None, owner: Any) -> ObjectVar[M] | M: ...

        def __set__(self, instance: object, value: M) -> None: ...

else:
    ObjectField = rx.Field


def object_field(default_factory: Callable[[], M]) -> ObjectField[M]:
    """``rx.field(default_factory=default_factory)``, typed as an :class:`ObjectField`."""
    return cast("ObjectField[M]", rx.field(default_factory=default_factory))
