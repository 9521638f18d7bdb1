"""Training recipes shipped inside the package: one YAML file per method and dataset.

``lowlight train lucent_sice`` resolves a bare name here, so recipes work from an installed
wheel; ``lowlight train path/to/recipe.yaml`` still reads any file. Relative data paths in
a recipe (``../shared/data/...``) resolve against the current folder; override them with
``--set data.train.root=...``.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from lowlight.errors import ConfigError

__all__ = ["list_recipes", "recipe_path", "resolve_recipe"]


def _folder() -> Path:
    return Path(str(resources.files(__name__)))


def list_recipes() -> list[str]:
    """Names of the shipped recipes (``lucent_sice``, ``mirnet_small_synth``, ...)."""
    return sorted(p.stem for p in _folder().glob("*.yaml"))


def recipe_path(name: str) -> Path:
    """The file of shipped recipe ``name`` (with or without ``.yaml``).

    Raises:
        ConfigError: no such recipe; the message lists the shipped ones.
    """
    stem = name[:-5] if name.endswith(".yaml") else name
    path = _folder() / f"{stem}.yaml"
    if "/" in stem or "\\" in stem or not path.is_file():
        raise ConfigError(
            f"no shipped recipe named '{name}'; shipped: {', '.join(list_recipes())} "
            "(or give the path of a YAML file)"
        )
    return path


def resolve_recipe(spec: str | Path) -> Path:
    """An existing file as given, else a shipped recipe of that name (``lucent_sice``)."""
    path = Path(spec)
    if path.is_file():
        return path
    if path.suffix in {"", ".yaml"} and len(path.parts) == 1:
        return recipe_path(str(spec))
    raise ConfigError(
        f"config file not found: {spec} (shipped recipes: {', '.join(list_recipes())})"
    )
