"""A small name -> factory registry with lazy discovery and loud duplicates.

Registration happens when a module under the registry's package is imported. Nothing
is imported when :mod:`lowlight` is imported: the first lookup imports every submodule
of the package once. A submodule that fails to import (say, an optional dependency is
missing) does not hide the others; its error is reported when a name cannot be found.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from lowlight.errors import RegistryError

T = TypeVar("T")


@dataclass(frozen=True)
class Entry(Generic[T]):
    """One registered object with its metadata."""

    name: str
    obj: T
    meta: dict[str, Any] = field(default_factory=dict)


class Registry(Generic[T]):
    """Maps names to objects; duplicate names raise.

    Args:
        kind: what is registered, used in messages (``"model"``, ``"metric"``).
        package: dotted package whose submodules register into this registry;
            they are imported on the first lookup. ``None`` disables discovery.
    """

    def __init__(self, kind: str, package: str | None = None) -> None:
        self.kind = kind
        self.package = package
        self._entries: dict[str, Entry[T]] = {}
        self._discovered = package is None
        self._import_errors: dict[str, str] = {}

    def register(self, name: str | None = None, **meta: Any) -> Callable[[T], T]:
        """Decorator form of :meth:`add`; the name defaults to the object's ``__name__``."""

        def decorator(obj: T) -> T:
            self.add(name or obj.__name__, obj, **meta)  # type: ignore[attr-defined]
            return obj

        return decorator

    def add(self, name: str, obj: T, **meta: Any) -> None:
        """Register ``obj`` under ``name``; raise :class:`RegistryError` if the name is taken."""
        if name in self._entries:
            raise RegistryError(f"{self.kind} '{name}' is already registered")
        self._entries[name] = Entry(name, obj, dict(meta))

    def remove(self, name: str) -> None:
        """Unregister ``name`` (for tests and plug-ins that register temporarily)."""
        if self._entries.pop(name, None) is None:
            raise RegistryError(f"{self.kind} '{name}' is not registered")

    def get(self, name: str) -> Entry[T]:
        """Entry for ``name``; the error lists the known names and failed imports."""
        self._discover()
        try:
            return self._entries[name]
        except KeyError:
            msg = f"unknown {self.kind} '{name}'. Known: {', '.join(self.names()) or '(none)'}"
            if self._import_errors:
                failed = "; ".join(f"{m}: {e}" for m, e in self._import_errors.items())
                msg += f". Modules that failed to import: {failed}"
            raise RegistryError(msg) from None

    def names(self) -> list[str]:
        """Sorted registered names."""
        self._discover()
        return sorted(self._entries)

    def entries(self) -> Iterator[Entry[T]]:
        """Entries in name order."""
        for name in self.names():
            yield self._entries[name]

    def __contains__(self, name: object) -> bool:
        self._discover()
        return name in self._entries

    def __len__(self) -> int:
        self._discover()
        return len(self._entries)

    @property
    def import_errors(self) -> dict[str, str]:
        """Submodules that failed to import during discovery, with their error."""
        self._discover()
        return dict(self._import_errors)

    def _discover(self) -> None:
        if self._discovered or self.package is None:
            return
        self._discovered = True
        package = importlib.import_module(self.package)
        for info in pkgutil.iter_modules(package.__path__, prefix=f"{self.package}."):
            if info.name.rsplit(".", 1)[-1].startswith("_"):
                continue
            try:
                importlib.import_module(info.name)
            except ImportError as exc:
                self._import_errors[info.name] = f"{type(exc).__name__}: {exc}"


MODELS: Registry[Callable[..., Any]] = Registry("model", package="lowlight.models")
"""Enhancement models: name -> constructor returning an :class:`~lowlight.models.base.EnhancementModel`.

Metadata keys: ``kind`` (``classical``, ``zero-reference``, ``supervised``,
``self-supervised``), ``paper``, ``summary``, ``default_weights`` (a shipped weight
record name or ``None``).
"""


OBJECTIVES: Registry[Callable[..., Any]] = Registry("objective", package="lowlight.losses")
"""Training objectives: name -> constructor of a callable
``objective(model, batch) -> (loss, logs)`` where ``batch`` is a dict with ``"input"``
``(B, 3, H, W)`` and, for supervised objectives, ``"target"``; ``logs`` maps names to
float tensors for the training log. Loss weights live in the objective (the composer)."""


PLUGINS: Registry[Any] = Registry("plugin", package="lowlight.plugins")
"""Training-time plug-ins: name -> a :class:`~lowlight.plugins.base.TrainingPlugin` subclass
(see :mod:`lowlight.plugins`). Metadata keys: ``paper``, ``summary``."""
