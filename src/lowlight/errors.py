"""Exception hierarchy: every error lowlight raises on purpose derives from LowlightError."""

from __future__ import annotations


class LowlightError(Exception):
    """Base class for errors with a message meant for the user (the CLI prints it without a traceback)."""


class RegistryError(LowlightError, KeyError):
    """An unknown or duplicate name in a registry."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class WeightsError(LowlightError):
    """Weights that cannot be found, verified or loaded."""


class MissingDependencyError(LowlightError, ImportError):
    """An optional dependency needed for a feature is not installed."""


class ConfigError(LowlightError, ValueError):
    """An invalid configuration (unknown keys, wrong types, bad values)."""
