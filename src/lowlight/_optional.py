"""Lazy imports of optional dependencies with an actionable message when they are missing."""

from __future__ import annotations

import importlib
from types import ModuleType

from lowlight.errors import MissingDependencyError


def require(module: str, *, extra: str, feature: str) -> ModuleType:
    """Import ``module`` or raise :class:`MissingDependencyError` naming the extra to install.

    Args:
        module: importable module name, e.g. ``"av"``.
        extra: the lowlight extra that provides it, e.g. ``"video"``.
        feature: what the user was trying to do, for the message.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(
            f"{feature} needs the optional package '{module}', which is not installed "
            f"({exc}). Install it with: pip install 'lowlight[{extra}]'"
        ) from exc
