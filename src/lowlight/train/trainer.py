"""The step-based trainer every method shares.

One loop for all models and objectives: a registered model (``lowlight.api.build``), a
registered objective (``objective(model, batch) -> (loss, logs)``), an endless seeded
loader, Adam/AdamW/SGD with a step-function learning rate, gradient clipping, mixed
precision on CUDA, data parallelism under ``torchrun``, periodic validation with the
evaluation protocol, atomic resumable checkpoints, and a final ``safetensors`` export
with its provenance record.

Resuming (``resume=True``) continues from ``out_dir/last.ckpt`` exactly where the
checkpoint was written: model, optimiser, gradient scaler, step, the random-number
generators of every rank and the position in the sample stream are restored, so on CPU a
resumed run is bit-identical to an uninterrupted one (on CUDA too, up to the
nondeterministic kernels that ``train.deterministic: true`` rules out). A run killed at any
moment loses at most the steps since its last checkpoint (``train.ckpt_every``).

Training-time plug-ins (the recipe's ``plugins:``, :mod:`lowlight.plugins`) wrap the built
model: the wrapper trains (with the plug-in's wrapping of the objective) and is
checkpointed whole; validation and the export use the stripped model, and the export's
record lists the plug-ins so that ``lowlight.load`` rebuilds it.

Order of one step: set the learning rate for the step, zero gradients, forward + loss
under autocast, backward (scaled), average gradients over ranks, unscale and clip,
optimiser step (skipped by the scaler on overflow), then log / validate / checkpoint at
the new step count.
"""

from __future__ import annotations

import contextlib
import math
import random
import shlex
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from lowlight.device import prepare_runtime, resolve_device
from lowlight.errors import ConfigError, LowlightError
from lowlight.train import distributed as D
from lowlight.train.checkpoint import (
    CHECKPOINT_VERSION,
    CheckpointError,
    capture_rng_state,
    load_checkpoint_or_previous,
    remove_stale_temporaries,
    restore_rng_state,
    save_checkpoint,
)
from lowlight.train.config import TrainConfig
from lowlight.train.data import (
    build_train_dataset,
    build_train_loader,
    build_val_dataset,
    build_val_loader,
    describe_dataset,
)
from lowlight.train.export import export_weights
from lowlight.train.logger import (
    CSVLog,
    TensorBoardLog,
    attach_file_handler,
    detach_handler,
    get_logger,
)
from lowlight.train.optim import LRSchedule, build_optimizer
from lowlight.train.validate import validate

LAST = "last.ckpt"
BEST = "best.ckpt"
EXPORT_DIR = "export"


class TrainingError(LowlightError):
    """A run that cannot go on (non-finite loss, an objective that returns the wrong thing)."""


@dataclass
class TrainResult:
    """What a finished (or stopped) run produced."""

    out_dir: Path
    step: int
    finished: bool
    val_scores: dict[str, float] = field(default_factory=dict)
    best_score: float | None = None
    export_path: Path | None = None
    model: nn.Module | None = None
    """The trained model (on its training device, in train mode): with plug-ins, the wrapper."""
    inference_model: nn.Module | None = None
    """What was validated and exported: ``model`` stripped of training-only plug-in parts."""


def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, numpy's global generator and torch (CPU and CUDA)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _derived_seed(*words: int) -> int:
    return int(np.random.SeedSequence(list(words)).generate_state(1, np.uint32)[0])


class Trainer:
    """Train ``config`` (see :mod:`lowlight.train.config`).

    Args:
        config: the parsed recipe.
        resume: continue from ``out_dir/last.ckpt``; without it, a run folder that already
            holds a checkpoint is refused (nothing is overwritten silently).
        progress: show a progress bar (rank 0 only).
        command: recorded in the exported weights; default: ``sys.argv`` joined.
    """

    def __init__(
        self,
        config: TrainConfig,
        *,
        resume: bool = False,
        progress: bool = True,
        command: str | None = None,
    ) -> None:
        self.config = config
        self.resume = resume
        self.progress = progress
        self.command = command if command is not None else shlex.join(sys.argv)
        self.log = get_logger()

    # ------------------------------------------------------------------ public

    def fit(self, stop_after: int | None = None) -> TrainResult:
        """Run until ``train.steps`` (then export), or until step ``stop_after`` (a
        checkpoint is written there, nothing exported), whichever comes first."""
        cfg = self.config
        device = resolve_device(cfg.train.device)
        info = D.env_info()
        device = D.local_device(device, info)
        owns_group = info.enabled and not D.active()
        D.init_distributed(device)
        handler = None
        try:
            out_dir = Path(cfg.train.out_dir)
            if info.is_main:
                out_dir.mkdir(parents=True, exist_ok=True)
                remove_stale_temporaries(out_dir)
                handler = attach_file_handler(out_dir / "train.log")
            D.barrier()
            return self._fit(device, info, out_dir, stop_after)
        finally:
            if handler is not None:
                detach_handler(handler)
            if owns_group:
                D.shutdown()

    # ------------------------------------------------------------------ set-up

    def _fit(
        self, device: torch.device, info: D.DistInfo, out_dir: Path, stop_after: int | None
    ) -> TrainResult:
        cfg = self.config
        self._prepare_runtime(device)
        ckpt = self._checkpoint_to_resume(out_dir)
        amp = _Amp(*self._amp(device))

        seed_everything(cfg.seed)
        run = self._build_run(device, info, out_dir, amp)
        train_set = build_train_dataset(cfg.data.train)
        val_set = build_val_dataset(cfg.data.val) if cfg.data.val is not None else None
        data = _Data(training_data=describe_dataset(train_set), val_set=val_set)
        position = self._restore(run, ckpt)
        data.loader, run.sampler = build_train_loader(
            train_set, cfg.data.train, cfg.seed, info, position, device
        )
        data.batches = iter(data.loader)
        if val_set is not None:
            data.val_loader = build_val_loader(val_set, cfg.data.val, cfg.seed)
        # The random stream of the loop starts here (after every set-up draw).
        self._start_rng(ckpt, info, run.step)

        logs = self._open_logs(run, data, resumed=ckpt is not None)
        end = cfg.train.steps if stop_after is None else min(cfg.train.steps, stop_after)
        try:
            self._loop(run, data, end, logs)
        finally:
            logs.close()
            data.batches = data.loader = None
        return self._finish(run, data, logs)

    def _prepare_runtime(self, device: torch.device) -> None:
        prepare_runtime(device)
        if self.config.train.threads is not None:
            torch.set_num_threads(self.config.train.threads)
        self._set_determinism(device)

    def _build_run(self, device: torch.device, info: D.DistInfo, out_dir: Path, amp: _Amp) -> _Run:
        """Model (wrapped in the recipe's plug-ins), objective, optimiser, schedule, scaler."""
        cfg = self.config
        from lowlight.api import build
        from lowlight.plugins.base import strip, wrap_model, wrap_objective
        from lowlight.registry import OBJECTIVES

        backbone = build(cfg.model.name, **cfg.model.args)
        if cfg.model.init is not None:  # fine-tuning; a resumed run restores its checkpoint after
            backbone.load_state_dict(
                _initial_weights(cfg.model.name, cfg.model.init, cfg.model.args)
            )
        model = wrap_model(backbone, cfg.plugins).to(device)
        model.train()
        objective = OBJECTIVES.get(cfg.objective.name).obj(**cfg.objective.args)
        if isinstance(objective, nn.Module):
            objective = objective.to(device)
        return _Run(
            model=model,
            inference_model=strip(model),
            objective=objective,
            loss=wrap_objective(model, objective),
            optimizer=build_optimizer(model.parameters(), cfg.optim),
            schedule=LRSchedule(cfg.schedule, cfg.optim.lr, cfg.train.steps),
            scaler=torch.amp.GradScaler("cuda", enabled=amp.enabled and amp.dtype == torch.float16),
            amp=amp,
            device=device,
            info=info,
            out_dir=out_dir,
        )

    def _restore(self, run: _Run, ckpt: Mapping[str, Any] | None) -> int:
        """Load a checkpoint's states into ``run`` (or share rank 0's fresh model with every
        rank); return the position in the sample stream."""
        if ckpt is None:
            D.broadcast_module(run.model)
            return 0
        run.model.load_state_dict(ckpt["model"])
        run.optimizer.load_state_dict(ckpt["optimizer"])
        if run.scaler.is_enabled() and ckpt.get("scaler"):
            run.scaler.load_state_dict(ckpt["scaler"])
        if isinstance(run.objective, nn.Module) and ckpt.get("objective") is not None:
            run.objective.load_state_dict(ckpt["objective"])
        run.step = run.start_step = int(ckpt["step"])
        run.elapsed = float(ckpt.get("elapsed", 0.0))
        run.best = ckpt.get("best", {}).get("value")
        run.val_scores = dict(ckpt.get("val") or {})
        return int(ckpt["data"]["position"])

    def _open_logs(self, run: _Run, data: _Data, resumed: bool) -> _Logs:
        """Log the run's set-up and open the CSV / TensorBoard logs (rank 0 only)."""
        if not run.info.is_main:
            return _Logs()
        self._log_start(run, data)
        out_dir = run.out_dir
        (out_dir / "config.yaml").write_text(self.config.to_yaml(), encoding="utf-8")
        resume_step = run.step if resumed else None
        return _Logs(
            train=CSVLog(out_dir / "log.csv", resume_step=resume_step),
            val=CSVLog(out_dir / "val.csv", resume_step=resume_step),
            tb=TensorBoardLog(out_dir / "tb", resume_step=resume_step),
        )

    def _finish(self, run: _Run, data: _Data, logs: _Logs) -> TrainResult:
        """At the last step: validate if not yet done, export (rank 0)."""
        finished = run.step >= self.config.train.steps
        export_path = None
        if finished:
            if data.val_loader is not None and not run.val_scores:
                self._validate(run, data.val_loader, logs.val, tb=None)
            if run.info.is_main:
                export_path = self._export(run, data.training_data)
            D.barrier()
        return TrainResult(
            out_dir=run.out_dir,
            step=run.step,
            finished=finished,
            val_scores=dict(run.val_scores),
            best_score=run.best,
            export_path=export_path,
            model=run.model,
            inference_model=run.inference_model,
        )

    def _checkpoint_to_resume(self, out_dir: Path) -> dict[str, Any] | None:
        path = out_dir / LAST
        if not self.resume:
            if path.exists():
                raise LowlightError(
                    f"{out_dir} already holds a checkpoint ({path}); pass --resume to continue that run, "
                    "or choose another --out-dir"
                )
            return None
        ckpt, used, why = load_checkpoint_or_previous(path)
        if why is not None:
            self.log.warning("%s; resuming from the previous checkpoint %s instead", why, used)
        saved = ckpt["config"]
        current = self.config.to_dict()
        if saved.get("model") != current["model"]:
            raise CheckpointError(
                f"{path} was written for model {saved.get('model')}, but the recipe asks for "
                f"{current['model']}; refusing to resume (use another --out-dir for a new run)"
            )
        if saved.get("plugins", []) != current["plugins"]:
            raise CheckpointError(
                f"{path} was written with plug-ins {saved.get('plugins', [])}, but the recipe "
                f"asks for {current['plugins']}; refusing to resume (use another --out-dir)"
            )
        differing = [
            k
            for k in ("objective", "data", "optim", "schedule", "seed")
            if saved.get(k) != current[k]
        ]
        if differing:
            self.log.warning(
                "resuming with a recipe that differs from the checkpoint's in: %s",
                ", ".join(differing),
            )
        return ckpt

    def _amp(self, device: torch.device) -> tuple[bool, torch.dtype]:
        mode = self.config.train.amp
        dtype = torch.bfloat16 if self.config.train.amp_dtype == "bfloat16" else torch.float16
        if mode == "on" and device.type != "cuda":
            raise ConfigError(
                f"train.amp: on needs a CUDA device, but the run uses {device}; use auto or off"
            )
        return (mode == "on" or (mode == "auto" and device.type == "cuda")), dtype

    def _set_determinism(self, device: torch.device) -> None:
        if self.config.train.deterministic:
            torch.use_deterministic_algorithms(True, warn_only=True)
            torch.backends.cudnn.deterministic = True
            torch.backends.cudnn.benchmark = False
        elif device.type == "cuda":
            torch.backends.cudnn.benchmark = True

    def _start_rng(self, ckpt: Mapping[str, Any] | None, info: D.DistInfo, step: int) -> None:
        seed = self.config.seed
        if ckpt is not None:
            states = ckpt["rng"]
            if isinstance(states, list) and len(states) == info.world_size:
                restore_rng_state(states[info.rank])
                return
            self.log.warning(
                "checkpoint holds RNG states for %d process(es), this run has %d: reseeding",
                len(states),
                info.world_size,
            )
            seed_everything(_derived_seed(seed, step, info.rank))
        elif info.rank > 0:
            seed_everything(_derived_seed(seed, 0, info.rank))

    def _log_start(self, run: _Run, data: _Data) -> None:
        cfg = self.config
        model, objective = run.model, run.loss
        n_params = sum(p.numel() for p in model.parameters() if p.requires_grad)
        log = self.log
        log.info("run '%s' -> %s", cfg.name, cfg.train.out_dir)
        if run.step:
            log.info("resumed from %s at step %d", Path(cfg.train.out_dir) / LAST, run.step)
        log.info(
            "model %s %s: %s trainable parameters",
            cfg.model.name,
            dict(cfg.model.args),
            f"{n_params:,}",
        )
        log.info("objective %s %s", cfg.objective.name, dict(cfg.objective.args))
        for source in (objective, *(model,) * bool(cfg.plugins)):
            describe = getattr(source, "describe", None)
            if callable(describe):
                for line in describe():
                    log.info("  %s", line)
        log.info("training data: %s", data.training_data)
        if data.val_set is not None:
            log.info("validation data: %s", describe_dataset(data.val_set))
        amp = run.amp
        amp_text = f"amp {str(amp.dtype).removeprefix('torch.')}" if amp.enabled else "fp32"
        log.info(
            "device %s, %s, %d process(es), batch %d per process, %d steps",
            run.device,
            amp_text,
            run.info.world_size,
            cfg.data.train.batch_size,
            cfg.train.steps,
        )

    # ------------------------------------------------------------------ loop

    def _loop(self, run: _Run, data: _Data, end: int, logs: _Logs) -> None:
        """Train from ``run.step`` to ``end``: one step, then log / validate / checkpoint."""
        params = [p for p in run.model.parameters() if p.requires_grad]
        bar = self._progress_bar(run, end)
        meter = _Meter(time.perf_counter())
        try:
            while run.step < end:
                loss, terms, lr = self._train_step(run, next(data.batches), params)
                meter.add({"loss": loss.detach(), **terms})
                if bar is not None:
                    bar.update(1)
                if run.step % self.config.train.log_every == 0 or run.step == end:
                    self._log_interval(run, meter, lr, logs, bar)
                self._validate_and_checkpoint(run, data, end, logs, meter.started)
        finally:
            if bar is not None:
                bar.close()
        run.elapsed += time.perf_counter() - meter.started

    def _progress_bar(self, run: _Run, end: int) -> Any:
        if not (run.info.is_main and self.progress and run.step < end):
            return None
        from tqdm import tqdm

        return tqdm(
            total=self.config.train.steps,
            initial=run.step,
            desc=self.config.name,
            dynamic_ncols=True,
        )

    def _train_step(
        self, run: _Run, batch: Mapping[str, Any], params: list[nn.Parameter]
    ) -> tuple[Tensor, dict[str, Tensor], float]:
        """One optimiser step (see the module docstring for the order); returns the loss,
        its logged terms and the step's learning rate."""
        batch = _to_device(batch, run.device)
        lr = run.schedule.apply(run.optimizer, run.step)
        run.optimizer.zero_grad(set_to_none=True)
        with run.amp.context(run.device):
            loss, terms = _call_objective(run.loss, run.model, batch)
        if not bool(torch.isfinite(loss.detach())):
            values = {k: float(v) for k, v in terms.items()}
            raise TrainingError(
                f"the loss became non-finite ({float(loss.detach())}) at step {run.step + 1}; terms {values}. "
                f"Lower optim.lr or set optim.grad_clip, then resume from {run.out_dir / LAST}."
            )
        run.scaler.scale(loss).backward()
        D.average_gradients(params)
        clip = self.config.optim.grad_clip
        if clip is not None:
            run.scaler.unscale_(run.optimizer)
            norm = torch.nn.utils.clip_grad_norm_(params, clip)
            terms = {**terms, "grad_norm": norm.detach()}
        run.scaler.step(run.optimizer)
        run.scaler.update()
        run.step += 1
        return loss, terms, lr

    def _log_interval(self, run: _Run, meter: _Meter, lr: float, logs: _Logs, bar: Any) -> None:
        """Write the means of the terms since the last log line (CSV, TensorBoard, bar)."""
        now = time.perf_counter()
        means = D.mean_over_ranks(meter.means(), run.device)
        row = {
            "step": run.step,
            "lr": lr,
            **means,
            "sec_per_step": (now - meter.interval_start) / meter.count,
            "seconds": run.elapsed + now - meter.started,
        }
        if logs.train is not None:
            logs.train.write(row)
        if logs.tb is not None:
            logs.tb.write(run.step, {"lr": lr, **means}, "train")
        if bar is not None:
            bar.set_postfix(loss=f"{means['loss']:.4g}", lr=f"{lr:.3g}")
        meter.reset(now)

    def _validate_and_checkpoint(
        self, run: _Run, data: _Data, end: int, logs: _Logs, started: float
    ) -> None:
        cfg = self.config.train
        is_best = False
        if data.val_loader is not None and (run.step % cfg.val_every == 0 or run.step == cfg.steps):
            is_best = self._validate(
                run,
                data.val_loader,
                logs.val,
                logs.tb,
                elapsed=run.elapsed + time.perf_counter() - started,
            )
        if run.step % cfg.ckpt_every == 0 or run.step == end or is_best:
            self._checkpoint(run, run.elapsed + time.perf_counter() - started, is_best)

    def _validate(
        self,
        run: _Run,
        val_loader: Any,
        val_log: CSVLog | None,
        tb: TensorBoardLog | None,
        elapsed: float = 0.0,
    ) -> bool:
        """Score the model on rank 0; every rank learns the scores and whether they are the best."""
        scores: dict[str, float] | None = None
        if run.info.is_main:
            t0 = time.perf_counter()
            scores = validate(run.inference_model, val_loader, run.device)
            self.log.info(
                "step %d validation: PSNR %.3f dB, SSIM %.4f (GT-mean: %.3f dB, %.4f) in %.1f s",
                run.step,
                scores["psnr"],
                scores["ssim"],
                scores["psnr_gtmean"],
                scores["ssim_gtmean"],
                time.perf_counter() - t0,
            )
            if val_log is not None:
                val_log.write({"step": run.step, **scores, "seconds": elapsed})
            if tb is not None:
                tb.write(run.step, scores, "val")
        scores = D.broadcast_object(scores)
        assert scores is not None
        run.val_scores = scores
        metric = self.config.train.best_metric
        if metric is None:
            return False
        value = scores[metric]
        if math.isfinite(value) and (run.best is None or value > run.best):
            run.best = value
            return True
        return False

    def _checkpoint(self, run: _Run, elapsed: float, is_best: bool) -> None:
        rng = D.gather_objects(capture_rng_state())
        D.barrier()
        if run.info.is_main:
            state = {
                "version": CHECKPOINT_VERSION,
                "step": run.step,
                "model": run.model.state_dict(),
                "optimizer": run.optimizer.state_dict(),
                "scheduler": {**run.schedule.state_dict(), "step": run.step},
                "scaler": run.scaler.state_dict() if run.scaler.is_enabled() else {},
                "objective": run.objective.state_dict()
                if isinstance(run.objective, nn.Module)
                else None,
                "config": self.config.to_dict(),
                "rng": rng,
                "data": {
                    **run.sampler.state_dict(),
                    "position": run.sampler.position_after(run.step - run.start_step),
                },
                "best": {"metric": self.config.train.best_metric, "value": run.best},
                "val": dict(run.val_scores),
                "elapsed": elapsed,
            }
            save_checkpoint(state, run.out_dir / LAST, keep_previous=True)
            if is_best:
                save_checkpoint(state, run.out_dir / BEST)
        D.barrier()

    def _export(self, run: _Run, training_data: str) -> Path:
        cfg = self.config
        scores: dict[str, dict[str, float]] = {}
        if run.val_scores and cfg.data.val is not None:
            scores[_benchmark_name(cfg.data.val)] = {**run.val_scores, "step": float(run.step)}
        path = export_weights(
            run.inference_model.state_dict(),
            cfg,
            run.out_dir / EXPORT_DIR,
            training_data=training_data,
            command=self.command,
            scores=scores,
            steps=run.step,
            world_size=run.info.world_size,
        )
        self.log.info("exported weights to %s", path)
        return path


@dataclass
class _Amp:
    """Mixed precision of a run: on or off, and the autocast dtype."""

    enabled: bool
    dtype: torch.dtype

    def context(self, device: torch.device) -> contextlib.AbstractContextManager[Any]:
        if not self.enabled:
            return contextlib.nullcontext()
        return torch.autocast(device_type=device.type, dtype=self.dtype)


@dataclass
class _Run:
    """State of one run: what it trains, and where it stands."""

    model: nn.Module
    """What trains and is checkpointed: the backbone, wrapped in the recipe's plug-ins."""
    inference_model: nn.Module
    """What is validated and exported: ``model`` stripped of training-only parts (shares
    its parameters; ``model`` itself without plug-ins)."""
    objective: Any
    """The recipe's objective (its state is checkpointed)."""
    loss: Any
    """What the loop calls: ``objective``, or the plug-ins' wrapping of it."""
    optimizer: torch.optim.Optimizer
    schedule: LRSchedule
    scaler: torch.amp.GradScaler
    amp: _Amp
    device: torch.device
    info: D.DistInfo
    out_dir: Path
    sampler: Any = None
    step: int = 0
    start_step: int = 0
    elapsed: float = 0.0
    best: float | None = None
    val_scores: dict[str, float] = field(default_factory=dict)


@dataclass
class _Data:
    """The run's data: the endless training stream and the optional validation loader."""

    training_data: str
    val_set: Any = None
    loader: Any = None
    batches: Iterator[dict[str, Any]] | None = None
    val_loader: Any = None


@dataclass
class _Logs:
    """Rank 0's logs (all ``None`` on other ranks)."""

    train: CSVLog | None = None
    val: CSVLog | None = None
    tb: TensorBoardLog | None = None

    def close(self) -> None:
        if self.tb is not None:
            self.tb.close()


@dataclass
class _Meter:
    """Sums of the logged terms since the last log line."""

    started: float
    interval_start: float = -1.0
    sums: dict[str, Tensor] = field(default_factory=dict)
    count: int = 0

    def __post_init__(self) -> None:
        if self.interval_start < 0:
            self.interval_start = self.started

    def add(self, values: Mapping[str, Tensor]) -> None:
        _accumulate(self.sums, values)
        self.count += 1

    def means(self) -> dict[str, float]:
        return {k: float(v) / self.count for k, v in self.sums.items()}

    def reset(self, now: float) -> None:
        self.sums, self.count, self.interval_start = {}, 0, now


def _call_objective(
    objective: Any, model: nn.Module, batch: Mapping[str, Any]
) -> tuple[Tensor, dict[str, Tensor]]:
    out = objective(model, batch)
    if not (
        isinstance(out, tuple) and len(out) == 2 and isinstance(out[0], Tensor) and out[0].ndim == 0
    ):
        raise TrainingError(
            f"objective {type(objective).__name__} must return (scalar loss tensor, logs dict), got {type(out).__name__}"
        )
    loss, logs = out
    return loss, {
        k: (v.detach() if isinstance(v, Tensor) else torch.tensor(float(v)))
        for k, v in (logs or {}).items()
    }


def _initial_weights(name: str, weights: str, args: Mapping[str, Any]) -> dict[str, Tensor]:
    """The state dict of ``weights`` (record name or path) for model ``name`` (``model.init``)."""
    from lowlight.api import load

    return load(name, weights=weights, device="cpu", **args).state_dict()


def _accumulate(sums: dict[str, Tensor], values: Mapping[str, Tensor]) -> None:
    for key, value in values.items():
        value = value.detach().float()
        sums[key] = sums[key] + value if key in sums else value.clone()


def _to_device(batch: Mapping[str, Any], device: torch.device) -> dict[str, Any]:
    return {
        k: v.to(device, non_blocking=True) if isinstance(v, Tensor) else v for k, v in batch.items()
    }


def _benchmark_name(cfg: Any) -> str:
    """``lol_v1/eval15`` for ``../shared/data/lol_v1/eval15``: the last two folder names."""
    source = cfg.root if cfg.root is not None else str(Path(cfg.input_dir).parent)
    parts = [p for p in Path(source).parts if p not in ("..", ".", "/")]
    return "/".join(parts[-2:]) if parts else str(source)


def train(
    config: TrainConfig, *, resume: bool = False, progress: bool = True, command: str | None = None
) -> TrainResult:
    """Train ``config`` to its end (see :class:`Trainer`)."""
    return Trainer(config, resume=resume, progress=progress, command=command).fit()


__all__ = ["BEST", "LAST", "TrainResult", "Trainer", "TrainingError", "seed_everything", "train"]
