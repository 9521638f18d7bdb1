"""Checking the ``args`` of a recipe's dataset block: one error for every dataset kind."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from lowlight.errors import ConfigError

__all__ = ["reject_unknown_options"]


def reject_unknown_options(what: str, given: Iterable[str], valid: Sequence[str]) -> None:
    """Raise :class:`ConfigError` naming the keys of ``given`` not in ``valid`` and listing
    the valid ones; ``what`` names the options (e.g. ``"synthetic dataset"``)."""
    unknown = [key for key in given if key not in valid]
    if unknown:
        raise ConfigError(f"unknown {what} option(s) {unknown}; valid options: {', '.join(valid)}")
