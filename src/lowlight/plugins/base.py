"""The plug-in seam: a wrapper class, and the functions the trainer and the loader call.

A plug-in subclasses :class:`TrainingPlugin` and registers the class in
:data:`lowlight.registry.PLUGINS`::

    @PLUGINS.register("name", paper=..., summary=...)
    class MyPlugin(TrainingPlugin):
        Options = MyOptions                 # a dataclass of the recipe's ``args``

        def __init__(self, backbone, options): ...      # training form (wrapper)
        def forward_train(self, x): ...                 # (output, aux) like a model's
        def stripped(self): ...                         # inference model, shares parameters
        @classmethod
        def inference(cls, backbone, options): ...      # inference model from scratch

The trainer calls :func:`wrap_model` on the built model, trains the wrapper with
``wrapper.wrap_objective(objective)``, checkpoints ``wrapper.state_dict()``, and validates
and exports :func:`strip` (wrapper). :func:`lowlight.load` calls :func:`inference_model`
with the plug-ins listed in the weight record.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from torch import Tensor, nn

from lowlight.errors import ConfigError
from lowlight.models.base import EnhancementModel

__all__ = [
    "TrainingPlugin",
    "inference_model",
    "parse_options",
    "strip",
    "wrap_model",
    "wrap_objective",
]


class TrainingPlugin(nn.Module):
    """Base class of training-time wrappers (see the module docstring).

    Attributes:
        backbone: the wrapped model.
        Options: dataclass of the plug-in's recipe ``args``.
    """

    Options: ClassVar[type]
    backbone: nn.Module

    def forward_train(self, x: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        """Training forward ``(B, 3, H, W) -> (output, aux)``, as a model's."""
        raise NotImplementedError

    def forward(self, x: Tensor) -> Tensor:
        return self.forward_train(x)[0]

    def stripped(self) -> EnhancementModel:
        """The inference model: the backbone plus what the plug-in keeps, sharing this
        wrapper's parameters (no copy)."""
        raise NotImplementedError

    @classmethod
    def inference(cls, backbone: EnhancementModel, options: Any) -> EnhancementModel:
        """A fresh inference model (the form :meth:`stripped` returns) around ``backbone``,
        for loading exported weights."""
        raise NotImplementedError

    def wrap_objective(self, objective: Any) -> Any:
        """The objective the wrapper trains with (default: ``objective`` unchanged)."""
        return objective

    def describe(self) -> list[str]:
        """Lines for the training log."""
        return []


def parse_options(name: str, args: Mapping[str, Any], where: str = "plugins") -> Any:
    """The options dataclass of plug-in ``name`` filled from ``args`` (unknown keys and wrong
    types raise :class:`~lowlight.errors.ConfigError` listing the valid keys)."""
    from lowlight.registry import PLUGINS
    from lowlight.train.config import parse_section

    cls = PLUGINS.get(name).obj
    return parse_section(cls.Options, dict(args), f"{where}.{name}.args")


def wrap_model(model: nn.Module, plugins: Sequence[Any]) -> nn.Module:
    """Wrap ``model`` in each plug-in of ``plugins`` (``PluginConfig`` or mappings with
    ``name`` and ``args``), in order."""
    from lowlight.registry import PLUGINS

    for name, args in _pairs(plugins):
        cls = PLUGINS.get(name).obj
        model = cls(model, parse_options(name, args))
    return model


def strip(model: nn.Module) -> nn.Module:
    """The inference model of a (possibly wrapped) model; ``model`` itself if unwrapped."""
    return model.stripped() if isinstance(model, TrainingPlugin) else model


def wrap_objective(model: nn.Module, objective: Any) -> Any:
    """``objective`` wrapped by every plug-in around ``model``, innermost first."""
    chain = []
    while isinstance(model, TrainingPlugin):
        chain.append(model)
        model = model.backbone
    for plugin in reversed(chain):
        objective = plugin.wrap_objective(objective)
    return objective


def inference_model(backbone: EnhancementModel, plugins: Sequence[Any]) -> EnhancementModel:
    """The stripped model that weights exported with ``plugins`` fit, around ``backbone``."""
    from lowlight.registry import PLUGINS

    model = backbone
    for name, args in _pairs(plugins):
        cls = PLUGINS.get(name).obj
        model = cls.inference(model, parse_options(name, args))
    return model


def _pairs(plugins: Sequence[Any]) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for item in plugins:
        if isinstance(item, Mapping):
            name, args = item.get("name"), item.get("args") or {}
        else:
            name, args = item.name, item.args
        if not isinstance(name, str):
            raise ConfigError(f"a plug-in entry needs a 'name', got {item!r}")
        out.append((name, dict(args)))
    return out
