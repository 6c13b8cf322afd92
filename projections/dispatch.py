"""Typed event handlers for projectors, looked up at the speed of a dict.

A projector writes one handler per event class and registers it with
``functools.singledispatchmethod`` (or ``functools.singledispatch`` for plain functions),
its event parameter annotated with the event class, so that mypy checks every field the
handler reads. The function registered for ``object`` (the one decorated first) is the
fallback: an event class that resolves to it is *not handled*.

``Handlers`` wraps such a dispatcher for the engine's hot path: it resolves an event class
with the dispatcher's own rules (the most specific registered class in the MRO) once, then
answers from a dict; calling a ``singledispatchmethod`` costs some 30 times a dict look-up
per event on Python 3.11, and a catch-up applies hundreds of thousands of them. ``handles``
is what ``Projector.handles`` returns, so the engine still decodes only the events a
projector handles; ``handled`` lists the registered classes.

What it deliberately does not do: call the handler (the projector passes its own arguments).
"""

from collections.abc import Callable, Mapping
from functools import singledispatchmethod
from typing import Any, Generic, Protocol, TypeVar

R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True)


class Dispatcher(Protocol[R_co]):
    """What ``functools.singledispatch`` returns (and ``singledispatchmethod.dispatcher``)."""

    @property
    def registry(self) -> Mapping[Any, Callable[..., R_co]]: ...

    def dispatch(self, cls: Any) -> Callable[..., R_co]: ...


class Handlers(Generic[R]):
    """The handlers registered on ``dispatcher``, by event class (see the module docstring)."""

    def __init__(self, dispatcher: "Dispatcher[R] | singledispatchmethod[R]") -> None:
        if isinstance(dispatcher, singledispatchmethod):
            dispatcher = dispatcher.dispatcher
        self._dispatcher = dispatcher
        self._fallback = dispatcher.registry[object]
        self._resolved: dict[type, Callable[..., R] | None] = {}

    def get(self, cls: type) -> Callable[..., R] | None:
        """The handler of events of class ``cls``; None when it is not handled."""
        try:
            return self._resolved[cls]
        except KeyError:
            handler: Callable[..., R] | None = self._dispatcher.dispatch(cls)
            if handler is self._fallback:
                handler = None
            self._resolved[cls] = handler
            return handler

    def handles(self, cls: type) -> bool:
        return self.get(cls) is not None

    @property
    def handled(self) -> frozenset[type]:
        """The classes a handler is registered for (their subclasses are handled too)."""
        return frozenset(cls for cls in self._dispatcher.registry if cls is not object)


__all__ = ["Dispatcher", "Handlers"]
