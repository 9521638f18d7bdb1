"""Every shipped recipe (src/lowlight/recipes/) parses and names registered models and objectives;
bare names resolve to them."""

from __future__ import annotations

from pathlib import Path

import pytest

from lowlight.registry import MODELS, OBJECTIVES
from lowlight.train.config import load_config

REPO = Path(__file__).resolve().parents[2]
RECIPES = sorted((REPO / "src" / "lowlight" / "recipes").glob("*.yaml"))


def test_there_are_recipes() -> None:
    assert RECIPES, "src/lowlight/recipes/ holds no YAML recipes"


@pytest.mark.parametrize("path", RECIPES, ids=[p.name for p in RECIPES])
def test_recipe_parses(path: Path) -> None:
    cfg = load_config(path)
    assert cfg.name
    assert Path(cfg.train.out_dir).parts[0] == "runs", "recipes write under runs/"


@pytest.mark.parametrize("path", RECIPES, ids=[p.name for p in RECIPES])
def test_recipe_names_are_registered(path: Path) -> None:
    cfg = load_config(path)
    missing = []
    if cfg.model.name not in MODELS:
        missing.append(f"model '{cfg.model.name}'")
    if cfg.objective.name not in OBJECTIVES:
        missing.append(f"objective '{cfg.objective.name}'")
    if missing:
        pytest.skip(
            f"{path.name}: {' and '.join(missing)} not registered yet (written by another module)"
        )


@pytest.mark.parametrize("path", RECIPES, ids=[p.name for p in RECIPES])
def test_recipe_builds_model_and_objective(path: Path) -> None:
    from lowlight.api import build

    cfg = load_config(path)
    if cfg.model.name not in MODELS or cfg.objective.name not in OBJECTIVES:
        pytest.skip(f"{path.name}: model or objective not registered yet")
    build(cfg.model.name, **cfg.model.args)
    OBJECTIVES.get(cfg.objective.name).obj(**cfg.objective.args)


@pytest.mark.data
@pytest.mark.parametrize("path", RECIPES, ids=[p.name for p in RECIPES])
def test_recipe_data_exists(path: Path, shared_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The recipe's relative data paths resolve from the repository root (where it is run)."""
    from lowlight.train.data import build_train_dataset, build_val_dataset

    cfg = load_config(path)
    monkeypatch.chdir(REPO)
    sources = [cfg.data.train] + ([cfg.data.val] if cfg.data.val else [])
    for source in sources:
        for folder in (source.root, source.input_dir, source.target_dir):
            if folder is not None and not Path(folder).is_dir():
                pytest.skip(f"{folder} is not available here")
    assert len(build_train_dataset(cfg.data.train)) > 0
    if cfg.data.val is not None:
        assert len(build_val_dataset(cfg.data.val)) > 0


def test_bare_names_resolve_to_shipped_recipes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lowlight.errors import ConfigError
    from lowlight.recipes import list_recipes, resolve_recipe

    monkeypatch.chdir(tmp_path)  # outside the checkout: no configs/ folder anywhere near
    assert "lucent_sice" in list_recipes()
    assert {p.stem for p in RECIPES} == set(list_recipes())
    assert (
        resolve_recipe("lucent_sice").read_text()
        == (RECIPES[0].parent / "lucent_sice.yaml").read_text()
    )
    assert resolve_recipe("lucent_sice.yaml").name == "lucent_sice.yaml"
    own = tmp_path / "mine.yaml"
    own.write_text((RECIPES[0].parent / "lucent_sice.yaml").read_text())
    assert resolve_recipe(str(own)) == own  # a path still wins
    with pytest.raises(ConfigError, match="lucent_sice"):
        resolve_recipe("no_such_recipe")
    with pytest.raises(ConfigError, match="not found"):
        resolve_recipe("some/dir/missing.yaml")
