"""Training-time plug-ins that wrap any backbone (STYLE.md: "seams before features").

A plug-in (a :class:`~lowlight.plugins.base.TrainingPlugin` subclass registered in
:data:`lowlight.registry.PLUGINS`, one file here per method) wraps the built model while it
trains: the wrapper's ``forward_train`` and its objective (``wrap_objective``) define the
training step, and the checkpoint holds the whole wrapper, so ``--resume`` is bit-exact.
Validation, the exported weights and ``lowlight eval`` see the *stripped* model
(:func:`~lowlight.plugins.base.strip`): the backbone plus whatever the plug-in keeps at
inference. The export's weight record lists the plug-ins (``plugins``), and
:func:`lowlight.load` rebuilds the stripped model from it
(:func:`~lowlight.plugins.base.inference_model`).

Recipe::

    plugins:
      - {name: lfpv, args: {nodes: 16, patch: 4}}

Nothing is imported until used (the registry discovers the submodules on first lookup).
"""

from lowlight._lazy import lazy_exports

_EXPORTS = {
    "TrainingPlugin": "base",
    "inference_model": "base",
    "parse_options": "base",
    "strip": "base",
    "wrap_model": "base",
    "wrap_objective": "base",
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
