"""Typed training recipes: dataclasses parsed from YAML, with ``--set`` overrides.

A recipe is a YAML mapping whose layout mirrors :class:`TrainConfig`::

    name: lucent_sice            # run name (also the exported weight record's name)
    seed: 0
    model: {name: lucent, args: {}}
    objective: {name: zero_reference, args: {}}
    data:
      train: {kind: unpaired, root: ../shared/data/sice_part1, crop: 256, batch_size: 8}
      val: {kind: paired, root: ../shared/data/lol_v1/eval15}      # optional
    optim: {name: adam, lr: 1.0e-4, weight_decay: 0.0, betas: [0.9, 0.999], grad_clip: 0.1}
    schedule: {name: cosine, warmup_steps: 0, min_lr: 1.0e-6}
    train: {steps: 10000, amp: auto, ckpt_every: 500, val_every: 1000, log_every: 20,
            out_dir: runs/lucent_sice, device: auto}
    export: {license: "...", notes: ""}

Every section and key is documented on its dataclass below. An unknown key anywhere is a
:class:`~lowlight.errors.ConfigError` that lists the valid keys at that level; values are
type-checked (an ``int`` is accepted where a ``float`` is expected, nothing else is coerced).
Free-form mappings (``model.args``, ``objective.args``) are passed to the constructors as
they are, which check them.

Relative paths (data roots, ``train.out_dir``) are resolved against the *current working
directory* when the run starts, not against the recipe's folder: run ``lowlight train``
from the repository root, where the shipped recipes' ``../shared/data/...`` paths point.

Overrides: ``--set key.sub=value`` replaces one value before type checking; ``value`` is
parsed with ``yaml.safe_load`` (so ``8`` is an int, ``null`` is None, ``[0.9, 0.99]`` a
list, ``{a: 1}`` a mapping). Nothing is ever evaluated as code.
"""

from __future__ import annotations

import copy
import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Union

import yaml

from lowlight.errors import ConfigError


@dataclass
class ModelConfig:
    """Which model to train.

    Attributes:
        name: a registered model (``lowlight models`` lists them).
        args: keyword arguments of the model's constructor.
        init: weights to start from (fine-tuning): a shipped record name (``lowlight
            models``) or a ``.safetensors`` path, loaded and verified like
            :func:`lowlight.load`; ``null`` starts from the constructor's initialisation.
            ``--resume`` restores the checkpoint instead.
    """

    name: str
    args: dict[str, Any] = field(default_factory=dict)
    init: str | None = None


@dataclass
class ObjectiveConfig:
    """The training objective (loss composer).

    Attributes:
        name: a registered objective (``supervised``, ``zero_reference``, ...).
        args: keyword arguments of the objective's constructor (term weights etc.).
    """

    name: str
    args: dict[str, Any] = field(default_factory=dict)


@dataclass
class DatasetConfig:
    """One dataset (training or validation).

    Attributes:
        kind: ``unpaired`` (a folder of images, searched recursively; batches hold
            ``input`` only), ``paired`` (input/target folders matched by stem),
            ``synthetic`` (well-exposed photos under ``root`` darkened on the fly into
            input/target pairs; see :class:`lowlight.data.synthetic_pairs.SyntheticPairs`),
            ``sequences`` (real pairs from the multi-exposure scenes under ``root``, e.g.
            SICE; see :class:`lowlight.data.sequence_pairs.SequencePairs`) or ``mixture``
            (the datasets in ``parts``, drawn in proportion to their ``weight``; see
            :class:`lowlight.data.mixture.MixtureDataset`).
        root: for ``unpaired`` and ``synthetic`` the image folder; for ``paired`` a folder
            holding the two sides (LOL ``low/high``, LOL-v2 ``Low/Normal``; see
            :func:`lowlight.data.pairs.resolve_paired_root`).
        input_dir: paired only, instead of ``root``: the folder of degraded inputs.
        target_dir: paired only, with ``input_dir``: the folder of references.
        crop: side of the square random crop; ``null`` keeps whole images (validation;
            training then needs ``batch_size: 1`` or images of one size). Images smaller
            than the crop are resized up first (see :mod:`lowlight.data.transforms`).
        flips: random horizontal and vertical flips.
        rot90: random rotations by multiples of 90 degrees.
        batch_size: images per step *per process* (the global batch under ``torchrun`` is
            ``batch_size * WORLD_SIZE``).
        num_workers: DataLoader worker processes (0 loads in the training process).
        repeat: how many times each image appears in one shuffled epoch (only changes
            where epochs begin; the loop counts steps, not epochs).
        max_images: use only the first N images (sorted by path / stem); ``null`` = all.
            For ``synthetic``: the first N *selected* sources.
        args: ``synthetic``: options of the darkening and the source selection, e.g.
            ``{exposure_range: [0.02, 0.3], noise: false, min_mean: 0.3}`` (see
            :meth:`lowlight.data.synthetic_pairs.SyntheticPairs.from_args`); ``sequences``:
            the pairing, grouping and split options, e.g. ``{split: train, reference: best,
            identity: 0.1}`` (see :meth:`lowlight.data.sequence_pairs.SequencePairs.from_args`);
            ``unpaired``: ``{extra_roots: [...], exclude: [...], max_mean_luma: 0.25}`` (see
            :meth:`lowlight.data.unpaired.UnpairedImageFolder.from_args`).
        parts: ``mixture`` only: the datasets mixed; their ``crop``, ``flips``, ``rot90``
            and ``max_images`` are replaced by the mixture's own.
        weight: a part's share of a ``mixture`` (relative to the other parts' weights).
    """

    kind: Literal["unpaired", "paired", "synthetic", "sequences", "mixture"]
    root: str | None = None
    input_dir: str | None = None
    target_dir: str | None = None
    crop: int | None = 256
    flips: bool = True
    rot90: bool = False
    batch_size: int = 8
    num_workers: int = 2
    repeat: int = 1
    max_images: int | None = None
    args: dict[str, Any] = field(default_factory=dict)
    parts: list[DatasetConfig] = field(default_factory=list)
    weight: float = 1.0


@dataclass
class DataConfig:
    """Training data and optional validation data.

    Attributes:
        train: the training set.
        val: a *paired* set scored with the evaluation protocol (whole frames, 8-bit
            quantised PSNR/SSIM) every ``train.val_every`` steps; ``null`` to skip.
    """

    train: DatasetConfig
    val: DatasetConfig | None = None


@dataclass
class OptimConfig:
    """Optimiser.

    Attributes:
        name: ``adam``, ``adamw`` or ``sgd``.
        lr: peak learning rate.
        weight_decay: L2 (adam, sgd) or decoupled (adamw) weight decay.
        betas: Adam/AdamW betas.
        eps: Adam/AdamW epsilon.
        momentum: SGD momentum.
        grad_clip: clip the global gradient norm to this value; ``null`` = no clipping.
    """

    name: Literal["adam", "adamw", "sgd"] = "adam"
    lr: float = 1.0e-4
    weight_decay: float = 0.0
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1.0e-8
    momentum: float = 0.9
    grad_clip: float | None = None


@dataclass
class ScheduleConfig:
    """Learning-rate schedule, a pure function of the step (see :mod:`lowlight.train.schedule`).

    Attributes:
        name: ``constant``, ``cosine`` (from ``lr`` down to ``min_lr`` at ``train.steps``)
            or ``step`` (multiply by ``gamma`` every ``step_size`` steps).
        warmup_steps: linear warm-up from ``lr / warmup_steps`` to ``lr`` first.
        min_lr: floor of the cosine schedule.
        step_size: period of the ``step`` schedule.
        gamma: factor of the ``step`` schedule.
    """

    name: Literal["constant", "cosine", "step"] = "constant"
    warmup_steps: int = 0
    min_lr: float = 0.0
    step_size: int = 1000
    gamma: float = 0.5


@dataclass
class LoopConfig:
    """The training loop (the ``train:`` section).

    Attributes:
        steps: total optimiser steps.
        amp: mixed precision (autocast + gradient scaling): ``auto`` = on for CUDA, off
            otherwise; ``on`` needs CUDA; ``off``.
        amp_dtype: autocast dtype on CUDA: ``float16`` (with gradient scaling) or
            ``bfloat16`` (no scaling needed).
        ckpt_every: write ``out_dir/last.ckpt`` every N steps (and at the end).
        val_every: validate every N steps (and at the end) when ``data.val`` is set.
        log_every: average the loss terms over N steps and log them (progress bar, CSV,
            TensorBoard).
        out_dir: run folder: ``last.ckpt``, ``best.ckpt``, ``log.csv``, ``val.csv``,
            ``config.yaml``, ``train.log``, ``export/``.
        device: ``auto``, ``cpu``, ``cuda``, ``cuda:N`` or ``mps``. Under ``torchrun``
            on CUDA each process uses ``cuda:LOCAL_RANK``.
        threads: CPU threads for torch (``null`` = torch's default).
        best_metric: validation score that selects ``best.ckpt`` (higher is better):
            ``psnr``, ``ssim``, ``psnr_gtmean``, ``ssim_gtmean``; ``null`` = no best.
        deterministic: ask torch for deterministic kernels (slower on CUDA; CPU runs
            are deterministic anyway).
    """

    steps: int = 10000
    amp: Literal["auto", "on", "off"] = "auto"
    amp_dtype: Literal["float16", "bfloat16"] = "float16"
    ckpt_every: int = 500
    val_every: int = 1000
    log_every: int = 20
    out_dir: str = "runs/default"
    device: str = "auto"
    threads: int | None = None
    best_metric: Literal["psnr", "ssim", "psnr_gtmean", "ssim_gtmean"] | None = "psnr"
    deterministic: bool = False


@dataclass
class ExportConfig:
    """What goes into the exported weights' record besides what the run knows itself.

    Attributes:
        license: licence of the trained weights; name the training data's constraint.
        notes: free text copied into the record.
    """

    license: str = "unspecified: the training data's licence applies"
    notes: str = ""


@dataclass
class PluginConfig:
    """One training-time plug-in that wraps the built model (the ``plugins:`` list).

    Attributes:
        name: a registered plug-in (:data:`lowlight.plugins.PLUGINS`, e.g. ``lfpv``).
        args: the plug-in's options; each plug-in checks them against its own dataclass
            (an unknown key is an error listing the valid ones).

    Plug-ins wrap the model in list order; training and checkpoints use the wrapper,
    validation, export and ``lowlight eval`` the stripped model (see
    :mod:`lowlight.plugins`).
    """

    name: str
    args: dict[str, Any] = field(default_factory=dict)


@dataclass
class TrainConfig:
    """A whole training recipe.

    Attributes:
        name: run name; also the name of the exported weight record.
        seed: seeds model initialisation, data order, augmentation and any randomness
            in the objective.
        model, objective, data, optim, schedule, train, export: the sections above.
        plugins: training-time plug-ins (:class:`PluginConfig`), empty by default.
    """

    name: str
    model: ModelConfig
    objective: ObjectiveConfig
    data: DataConfig
    seed: int = 0
    optim: OptimConfig = field(default_factory=OptimConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    train: LoopConfig = field(default_factory=LoopConfig)
    export: ExportConfig = field(default_factory=ExportConfig)
    plugins: list[PluginConfig] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Plain YAML-safe mapping (tuples become lists) that :func:`parse_config` reads back."""
        data = _plain(dataclasses.asdict(self))
        return {key: data[key] for key in _SECTION_ORDER}

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)


_SECTION_ORDER = (
    "name",
    "seed",
    "model",
    "objective",
    "data",
    "optim",
    "schedule",
    "train",
    "export",
    "plugins",
)

# --------------------------------------------------------------------------- parsing


def parse_config(data: Any) -> TrainConfig:
    """Build a :class:`TrainConfig` from a mapping, checking keys, types and values.

    Raises:
        ConfigError: unknown or missing keys, wrong types, invalid values.
    """
    config = _build(TrainConfig, data, "")
    validate_config(config)
    return config


def load_config(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> TrainConfig:
    """Read a YAML recipe, apply ``key.sub=value`` overrides, and parse it."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path}: the top level of a recipe must be a mapping, got {type(data).__name__}"
        )
    try:
        return parse_config(apply_overrides(data, overrides))
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def apply_overrides(data: dict[str, Any], overrides: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """Return a copy of ``data`` with each ``"a.b.c=value"`` applied (value via ``yaml.safe_load``).

    Missing intermediate mappings are created (``data.val.root=...`` when ``val`` is null);
    list items are addressed by index (``data.train.parts.1.weight=0.5``); key names are
    checked later by :func:`parse_config`.
    """
    out = copy.deepcopy(data)
    for item in overrides:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"override '{item}' must look like key.sub=value")
        parts = key.split(".")
        if any(not p for p in parts):
            raise ConfigError(f"override '{item}': empty key component in '{key}'")
        try:
            value = yaml.safe_load(raw) if raw.strip() else None
        except yaml.YAMLError as exc:
            raise ConfigError(f"override '{item}': value is not valid YAML: {exc}") from exc
        node: Any = out
        for i, part in enumerate(parts):
            where = ".".join(parts[: i + 1])
            if isinstance(node, list):  # a list item by its index: data.train.parts.0.weight
                if not part.isdigit() or int(part) >= len(node):
                    raise ConfigError(
                        f"override '{item}': '{where}' must index the list (0-{len(node) - 1})"
                    )
                key: Any = int(part)
            else:
                key = part
            if i == len(parts) - 1:
                node[key] = value
                break
            child = node[key] if isinstance(node, list) else node.get(key)
            if child is None:
                child = node[key] = {}
            elif not isinstance(child, (dict, list)):
                raise ConfigError(f"override '{item}': '{where}' is a value, not a section")
            node = child
    return out


def validate_config(config: TrainConfig) -> None:
    """Value checks that types cannot express (positive sizes, consistent data sources)."""
    _validate_dataset(config.data.train, "data.train")
    if config.data.val is not None:
        _validate_dataset(config.data.val, "data.val")
        if config.data.val.kind not in ("paired", "sequences"):
            raise ConfigError(
                "data.val.kind must be 'paired' or 'sequences': validation needs references"
            )
    loop = config.train
    for key in ("steps", "ckpt_every", "val_every", "log_every"):
        if getattr(loop, key) < 1:
            raise ConfigError(f"train.{key} must be >= 1, got {getattr(loop, key)}")
    if loop.threads is not None and loop.threads < 1:
        raise ConfigError(f"train.threads must be >= 1 or null, got {loop.threads}")
    optim = config.optim
    if optim.lr <= 0:
        raise ConfigError(f"optim.lr must be > 0, got {optim.lr}")
    if optim.weight_decay < 0:
        raise ConfigError(f"optim.weight_decay must be >= 0, got {optim.weight_decay}")
    if optim.grad_clip is not None and optim.grad_clip <= 0:
        raise ConfigError(f"optim.grad_clip must be > 0 or null, got {optim.grad_clip}")
    if not all(0.0 <= b < 1.0 for b in optim.betas):
        raise ConfigError(f"optim.betas must lie in [0, 1), got {list(optim.betas)}")
    sched = config.schedule
    if sched.warmup_steps < 0:
        raise ConfigError(f"schedule.warmup_steps must be >= 0, got {sched.warmup_steps}")
    if sched.min_lr < 0 or sched.min_lr > optim.lr:
        raise ConfigError(f"schedule.min_lr must lie in [0, optim.lr], got {sched.min_lr}")
    if sched.step_size < 1:
        raise ConfigError(f"schedule.step_size must be >= 1, got {sched.step_size}")
    if sched.gamma <= 0:
        raise ConfigError(f"schedule.gamma must be > 0, got {sched.gamma}")
    for i, plugin in enumerate(config.plugins):
        _validate_plugin(plugin, f"plugins[{i}]")
    if not config.name.strip():
        raise ConfigError("name must not be empty")
    if config.seed < 0:
        raise ConfigError(f"seed must be >= 0, got {config.seed}")


def parse_section(cls: type, data: Any, where: str) -> Any:
    """Build dataclass ``cls`` from a mapping with this module's checks (unknown keys are
    errors listing the valid ones); for plug-ins that type their own ``args``."""
    return _build(cls, data, where)


def _validate_plugin(plugin: PluginConfig, where: str) -> None:
    """The plug-in is registered and its ``args`` fit its options dataclass."""
    from lowlight.errors import RegistryError
    from lowlight.plugins.base import parse_options

    try:
        parse_options(plugin.name, plugin.args, where)
    except RegistryError as exc:
        raise ConfigError(f"{where}.name: {exc}") from None


def _validate_dataset(ds: DatasetConfig, where: str) -> None:
    has_root = ds.root is not None
    has_dirs = ds.input_dir is not None or ds.target_dir is not None
    if ds.args and ds.kind not in ("synthetic", "sequences", "unpaired"):
        raise ConfigError(
            f"{where}: 'args' is for kinds 'synthetic', 'sequences' and 'unpaired' only"
        )
    if ds.parts and ds.kind != "mixture":
        raise ConfigError(f"{where}: 'parts' is for kind 'mixture' only")
    if ds.weight < 0:
        raise ConfigError(f"{where}.weight must be >= 0, got {ds.weight}")
    if ds.kind == "mixture":
        if not ds.parts or has_root or has_dirs:
            raise ConfigError(f"{where}: kind 'mixture' needs 'parts' (and no root or dirs)")
        if sum(part.weight for part in ds.parts) <= 0:
            raise ConfigError(f"{where}: the weights of the parts must not all be zero")
        for i, part in enumerate(ds.parts):
            if part.kind in ("mixture", "unpaired"):
                raise ConfigError(f"{where}.parts[{i}]: a part must be a paired kind")
            _validate_dataset(part, f"{where}.parts[{i}]")
    elif ds.kind in ("unpaired", "synthetic", "sequences"):
        if not has_root:
            raise ConfigError(f"{where}: kind '{ds.kind}' needs 'root'")
        if has_dirs:
            raise ConfigError(
                f"{where}: 'input_dir'/'target_dir' are for kind 'paired'; use 'root'"
            )
    else:
        if has_root == has_dirs:
            raise ConfigError(
                f"{where}: kind 'paired' needs either 'root' or both 'input_dir' and 'target_dir'"
            )
        if has_dirs and (ds.input_dir is None or ds.target_dir is None):
            raise ConfigError(f"{where}: give both 'input_dir' and 'target_dir'")
    if ds.crop is not None and ds.crop < 1:
        raise ConfigError(f"{where}.crop must be >= 1 or null, got {ds.crop}")
    if ds.batch_size < 1:
        raise ConfigError(f"{where}.batch_size must be >= 1, got {ds.batch_size}")
    if ds.num_workers < 0:
        raise ConfigError(f"{where}.num_workers must be >= 0, got {ds.num_workers}")
    if ds.repeat < 1:
        raise ConfigError(f"{where}.repeat must be >= 1, got {ds.repeat}")
    if ds.max_images is not None and ds.max_images < 1:
        raise ConfigError(f"{where}.max_images must be >= 1 or null, got {ds.max_images}")


def _build(cls: type, data: Any, where: str) -> Any:
    label = where or "the recipe"
    if not isinstance(data, dict):
        raise ConfigError(f"{label} must be a mapping, got {_describe(data)}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = [k for k in data if k not in fields]
    if unknown:
        valid = ", ".join(fields)
        names = ", ".join(repr(k) for k in unknown)
        raise ConfigError(f"unknown key {names} in {label}; valid keys: {valid}")
    kwargs = {}
    for name, f in fields.items():
        key = f"{where}.{name}" if where else name
        if name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ConfigError(f"missing required key '{key}'")
            continue
        kwargs[name] = _convert(hints[name], data[name], key)
    return cls(**kwargs)


def _convert(tp: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        options = typing.get_args(tp)
        if value is None:
            if type(None) in options:
                return None
            raise ConfigError(f"{where} must not be null")
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return _convert(option, value, where)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0] if len(errors) == 1 else f"{where}: {'; or '.join(errors)}")
    if tp is Any:
        return value
    if dataclasses.is_dataclass(tp):
        return _build(tp, value, where)
    if origin is Literal:
        choices = typing.get_args(tp)
        if value not in choices or isinstance(value, bool):
            raise ConfigError(
                f"{where} must be one of {', '.join(map(repr, choices))}, got {value!r}"
            )
        return value
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where} must be a mapping, got {_describe(value)}")
        key_tp, val_tp = typing.get_args(tp)
        return {
            _convert(key_tp, k, f"{where} key"): _convert(val_tp, v, f"{where}.{k}")
            for k, v in value.items()
        }
    if origin is tuple:
        items = typing.get_args(tp)
        if not isinstance(value, (list, tuple)) or len(value) != len(items):
            raise ConfigError(
                f"{where} must be a list of {len(items)} values, got {_describe(value)}"
            )
        return tuple(
            _convert(t, v, f"{where}[{i}]")
            for i, (t, v) in enumerate(zip(items, value, strict=True))
        )
    if origin is list:
        (item_tp,) = typing.get_args(tp)
        if not isinstance(value, list):
            raise ConfigError(f"{where} must be a list, got {_describe(value)}")
        return [_convert(item_tp, v, f"{where}[{i}]") for i, v in enumerate(value)]
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where} must be true or false, got {_describe(value)}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where} must be an integer, got {_describe(value)}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where} must be a number, got {_describe(value)}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where} must be a string, got {_describe(value)}")
        return value
    raise TypeError(
        f"config type {tp!r} at {where} is not supported"
    )  # a schema bug, not user error


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{type(value).__name__} {text}"


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


__all__ = [
    "DataConfig",
    "DatasetConfig",
    "ExportConfig",
    "LoopConfig",
    "ModelConfig",
    "ObjectiveConfig",
    "OptimConfig",
    "PluginConfig",
    "ScheduleConfig",
    "TrainConfig",
    "apply_overrides",
    "load_config",
    "parse_config",
    "parse_section",
    "validate_config",
]
