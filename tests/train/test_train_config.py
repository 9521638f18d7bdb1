"""Recipe parsing: typed dataclasses, unknown keys listed, types checked, --set overrides."""

from __future__ import annotations

import pytest
import yaml

from lowlight.errors import ConfigError
from lowlight.train.config import (
    DatasetConfig,
    TrainConfig,
    apply_overrides,
    load_config,
    parse_config,
)


def minimal() -> dict:
    return {
        "name": "run",
        "model": {"name": "m", "args": {"width": 4}},
        "objective": {"name": "o"},
        "data": {"train": {"kind": "unpaired", "root": "images"}},
    }


class TestParse:
    def test_minimal_gets_defaults(self) -> None:
        cfg = parse_config(minimal())
        assert isinstance(cfg, TrainConfig)
        assert cfg.seed == 0 and cfg.data.val is None
        assert cfg.data.train == DatasetConfig(kind="unpaired", root="images")
        assert cfg.optim.betas == (0.9, 0.999)
        assert cfg.train.amp == "auto"
        assert cfg.model.args == {"width": 4}

    def test_full_schema_from_the_brief(self) -> None:
        text = """
        name: lucent_sice
        seed: 0
        model: {name: lucent, args: {iterations: 8}}
        objective: {name: zero_reference, args: {exposure_level: 0.6}}
        data:
          train: {kind: unpaired, root: ../shared/data/sice_part1, crop: 256, batch_size: 8, num_workers: 2, repeat: 1}
          val: {kind: paired, root: ../shared/data/lol_v1/eval15, max_images: null}
        optim: {name: adam, lr: 1.0e-4, weight_decay: 0.0, betas: [0.9, 0.999], grad_clip: 0.1}
        schedule: {name: cosine, warmup_steps: 0, min_lr: 1.0e-6}
        train: {steps: 10000, amp: auto, ckpt_every: 500, val_every: 1000, log_every: 20, out_dir: runs/lucent_sice, device: auto, threads: null}
        """
        cfg = parse_config(yaml.safe_load(text))
        assert cfg.data.val is not None and cfg.data.val.kind == "paired"
        assert cfg.optim.grad_clip == 0.1
        assert cfg.schedule.min_lr == 1e-6

    def test_round_trip_through_yaml(self) -> None:
        cfg = parse_config(minimal())
        assert parse_config(yaml.safe_load(cfg.to_yaml())) == cfg
        assert list(cfg.to_dict())[:3] == ["name", "seed", "model"]

    @pytest.mark.parametrize(
        ("path", "level", "valid"),
        [
            ((), "the recipe", "name, model, objective, data, seed"),
            (("data", "train"), "data.train", "kind, root, input_dir"),
            (("optim",), "optim", "name, lr, weight_decay, betas"),
            (("train",), "train", "steps, amp"),
        ],
    )
    def test_unknown_key_lists_valid_keys(
        self, path: tuple[str, ...], level: str, valid: str
    ) -> None:
        data = minimal()
        node = data
        for key in path:
            node = node.setdefault(key, {})
        node["bogus"] = 1
        with pytest.raises(ConfigError, match="unknown key 'bogus'") as info:
            parse_config(data)
        assert f"in {level}; valid keys: {valid}" in str(info.value)

    @pytest.mark.parametrize(
        ("section", "key", "value", "message"),
        [
            (("data", "train"), "crop", "256", "data.train.crop must be an integer, got str '256'"),
            (("data", "train"), "flips", "yes", "data.train.flips must be true or false"),
            (("data", "train"), "batch_size", 2.5, "data.train.batch_size must be an integer"),
            (("data", "train"), "batch_size", True, "data.train.batch_size must be an integer"),
            (("optim",), "lr", "fast", "optim.lr must be a number"),
            (("optim",), "betas", [0.9], "optim.betas must be a list of 2 values"),
            (("optim",), "name", "lbfgs", "optim.name must be one of 'adam', 'adamw', 'sgd'"),
            (("train",), "amp", True, "train.amp must be one of"),
            (("model",), "args", [1], "model.args must be a mapping"),
        ],
    )
    def test_wrong_types(
        self, section: tuple[str, ...], key: str, value: object, message: str
    ) -> None:
        data = minimal()
        node = data
        for part in section:
            node = node.setdefault(part, {})
        node[key] = value
        with pytest.raises(ConfigError) as info:
            parse_config(data)
        assert message in str(info.value)

    def test_int_is_accepted_for_float(self) -> None:
        data = minimal()
        data["optim"] = {"lr": 1}
        assert parse_config(data).optim.lr == 1.0

    def test_missing_required_key(self) -> None:
        data = minimal()
        del data["model"]
        with pytest.raises(ConfigError, match="missing required key 'model'"):
            parse_config(data)

    def test_null_where_not_allowed(self) -> None:
        data = minimal()
        data["train"] = {"steps": None}
        with pytest.raises(ConfigError, match="train.steps must be an integer, got null"):
            parse_config(data)

    @pytest.mark.parametrize(
        ("train", "message"),
        [
            ({"kind": "paired"}, "needs either 'root' or both"),
            ({"kind": "paired", "input_dir": "a"}, "give both"),
            ({"kind": "paired", "root": "r", "input_dir": "a", "target_dir": "b"}, "needs either"),
            ({"kind": "unpaired"}, "needs 'root'"),
            ({"kind": "unpaired", "root": "r", "crop": 0}, "crop must be >= 1"),
            ({"kind": "unpaired", "root": "r", "batch_size": 0}, "batch_size must be >= 1"),
        ],
    )
    def test_dataset_values(self, train: dict, message: str) -> None:
        data = minimal()
        data["data"]["train"] = train
        with pytest.raises(ConfigError, match=message):
            parse_config(data)

    def test_validation_needs_pairs(self) -> None:
        data = minimal()
        data["data"]["val"] = {"kind": "unpaired", "root": "x"}
        with pytest.raises(ConfigError, match="data.val.kind must be 'paired'"):
            parse_config(data)

    @pytest.mark.parametrize(
        ("section", "values", "message"),
        [
            ("train", {"steps": 0}, "train.steps must be >= 1"),
            ("optim", {"lr": 0.0}, "optim.lr must be > 0"),
            ("optim", {"grad_clip": -1.0}, "grad_clip must be > 0"),
            ("optim", {"betas": [0.9, 1.0]}, "betas must lie in"),
            ("schedule", {"min_lr": 1.0}, "min_lr must lie in"),
        ],
    )
    def test_value_checks(self, section: str, values: dict, message: str) -> None:
        data = minimal()
        data[section] = values
        with pytest.raises(ConfigError, match=message):
            parse_config(data)

    def test_negative_seed(self) -> None:
        data = minimal()
        data["seed"] = -1
        with pytest.raises(ConfigError, match="seed must be >= 0"):
            parse_config(data)


class TestOverrides:
    def test_values_are_parsed_as_yaml(self) -> None:
        data = apply_overrides(
            minimal(),
            [
                "train.steps=5",
                "optim.betas=[0.5, 0.9]",
                "model.args.width=8",
                "train.threads=null",
                "train.out_dir=runs/x y",
            ],
        )
        cfg = parse_config(data)
        assert cfg.train.steps == 5
        assert cfg.optim.betas == (0.5, 0.9)
        assert cfg.model.args == {"width": 8}
        assert cfg.train.threads is None
        assert cfg.train.out_dir == "runs/x y"

    def test_input_is_not_modified(self) -> None:
        data = minimal()
        apply_overrides(data, ["model.args.width=8"])
        assert data["model"]["args"]["width"] == 4

    def test_never_evaluated(self) -> None:
        cfg = parse_config(apply_overrides(minimal(), ["name=__import__('os').system('false')"]))
        assert cfg.name == "__import__('os').system('false')"

    def test_creates_missing_sections(self) -> None:
        data = apply_overrides(minimal(), ["data.val.kind=paired", "data.val.root=eval"])
        cfg = parse_config(data)
        assert cfg.data.val is not None and cfg.data.val.root == "eval"

    def test_unknown_key_is_reported_at_parse(self) -> None:
        with pytest.raises(ConfigError, match="unknown key 'stepz' in train; valid keys: steps"):
            parse_config(apply_overrides(minimal(), ["train.stepz=3"]))

    def test_wrong_type_after_override(self) -> None:
        with pytest.raises(ConfigError, match="train.steps must be an integer, got str 'many'"):
            parse_config(apply_overrides(minimal(), ["train.steps=many"]))

    @pytest.mark.parametrize("bad", ["train.steps", "=3", "train..steps=3", "name.sub=3"])
    def test_malformed(self, bad: str) -> None:
        with pytest.raises(ConfigError):
            apply_overrides(minimal(), [bad])


class TestLoad:
    def test_load_with_overrides(self, tmp_path) -> None:
        path = tmp_path / "r.yaml"
        path.write_text(yaml.safe_dump(minimal()), encoding="utf-8")
        cfg = load_config(path, ["seed=7"])
        assert cfg.seed == 7

    def test_errors_name_the_file(self, tmp_path) -> None:
        path = tmp_path / "r.yaml"
        data = minimal()
        data["extra"] = 1
        path.write_text(yaml.safe_dump(data), encoding="utf-8")
        with pytest.raises(ConfigError, match=r"r\.yaml: unknown key 'extra'"):
            load_config(path)

    def test_bad_yaml_and_missing_file(self, tmp_path) -> None:
        path = tmp_path / "r.yaml"
        path.write_text("name: [unclosed", encoding="utf-8")
        with pytest.raises(ConfigError, match="not valid YAML"):
            load_config(path)
        path.write_text("- a list", encoding="utf-8")
        with pytest.raises(ConfigError, match="must be a mapping"):
            load_config(path)
        with pytest.raises(ConfigError, match="not found"):
            load_config(tmp_path / "missing.yaml")
