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
    """The trained model (on its training device, in train mode)."""


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
        main = info.is_main
        prepare_runtime(device)
        if cfg.train.threads is not None:
            torch.set_num_threads(cfg.train.threads)
        self._set_determinism(device)

        ckpt = self._checkpoint_to_resume(out_dir)
        amp_enabled, amp_dtype = self._amp(device)

        seed_everything(cfg.seed)
        from lowlight.api import build
        from lowlight.registry import OBJECTIVES

        model = build(cfg.model.name, **cfg.model.args).to(device)
        model.train()
        objective = OBJECTIVES.get(cfg.objective.name).obj(**cfg.objective.args)
        if isinstance(objective, nn.Module):
            objective = objective.to(device)
        optimizer = build_optimizer(model.parameters(), cfg.optim)
        schedule = LRSchedule(cfg.schedule, cfg.optim.lr, cfg.train.steps)
        scaler = torch.amp.GradScaler("cuda", enabled=amp_enabled and amp_dtype == torch.float16)

        train_set = build_train_dataset(cfg.data.train)
        val_set = build_val_dataset(cfg.data.val) if cfg.data.val is not None else None
        training_data = describe_dataset(train_set)

        step, position, elapsed = 0, 0, 0.0
        best: float | None = None
        val_scores: dict[str, float] = {}
        if ckpt is not None:
            model.load_state_dict(ckpt["model"])
            optimizer.load_state_dict(ckpt["optimizer"])
            if scaler.is_enabled() and ckpt.get("scaler"):
                scaler.load_state_dict(ckpt["scaler"])
            if isinstance(objective, nn.Module) and ckpt.get("objective") is not None:
                objective.load_state_dict(ckpt["objective"])
            step = int(ckpt["step"])
            position = int(ckpt["data"]["position"])
            elapsed = float(ckpt.get("elapsed", 0.0))
            best = ckpt.get("best", {}).get("value")
            val_scores = dict(ckpt.get("val") or {})
        else:
            D.broadcast_module(model)

        loader, sampler = build_train_loader(
            train_set, cfg.data.train, cfg.seed, info, position, device
        )
        batches: Iterator[dict[str, Any]] = iter(loader)
        val_loader = (
            build_val_loader(val_set, cfg.data.val, cfg.seed) if val_set is not None else None
        )
        # The random stream of the loop starts here (after every set-up draw).
        self._start_rng(ckpt, info, step)

        if main:
            self._log_start(
                model, objective, training_data, val_set, info, device, amp_enabled, amp_dtype, step
            )
            (out_dir / "config.yaml").write_text(cfg.to_yaml(), encoding="utf-8")
        csv_log = CSVLog(out_dir / "log.csv", resume_step=step if ckpt else None) if main else None
        val_log = CSVLog(out_dir / "val.csv", resume_step=step if ckpt else None) if main else None
        tb = TensorBoardLog(out_dir / "tb", resume_step=step if ckpt else None) if main else None

        run = _Run(
            model=model,
            objective=objective,
            optimizer=optimizer,
            schedule=schedule,
            scaler=scaler,
            sampler=sampler,
            device=device,
            info=info,
            out_dir=out_dir,
            step=step,
            elapsed=elapsed,
            best=best,
            val_scores=val_scores,
        )
        end = cfg.train.steps if stop_after is None else min(cfg.train.steps, stop_after)
        try:
            self._loop(run, batches, val_loader, end, amp_enabled, amp_dtype, csv_log, val_log, tb)
        finally:
            if tb is not None:
                tb.close()
            del batches, loader

        finished = run.step >= cfg.train.steps
        export_path = None
        if finished:
            if val_loader is not None and not run.val_scores:
                self._validate(run, val_loader, val_log, tb=None)
            if main:
                export_path = self._export(run, training_data)
            D.barrier()
        return TrainResult(
            out_dir=out_dir,
            step=run.step,
            finished=finished,
            val_scores=dict(run.val_scores),
            best_score=run.best,
            export_path=export_path,
            model=model,
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

    def _log_start(
        self,
        model: nn.Module,
        objective: Any,
        training_data: str,
        val_set: Any,
        info: D.DistInfo,
        device: torch.device,
        amp: bool,
        amp_dtype: torch.dtype,
        step: int,
    ) -> None:
        cfg = self.config
        n_params = sum(p.numel() for p in model.parameters() if p.requires_grad)
        log = self.log
        log.info("run '%s' -> %s", cfg.name, cfg.train.out_dir)
        if step:
            log.info("resumed from %s at step %d", Path(cfg.train.out_dir) / LAST, step)
        log.info(
            "model %s %s: %s trainable parameters",
            cfg.model.name,
            dict(cfg.model.args),
            f"{n_params:,}",
        )
        log.info("objective %s %s", cfg.objective.name, dict(cfg.objective.args))
        describe = getattr(objective, "describe", None)
        if callable(describe):
            for line in describe():
                log.info("  %s", line)
        log.info("training data: %s", training_data)
        if val_set is not None:
            log.info("validation data: %s", describe_dataset(val_set))
        amp_text = f"amp {str(amp_dtype).removeprefix('torch.')}" if amp else "fp32"
        log.info(
            "device %s, %s, %d process(es), batch %d per process, %d steps",
            device,
            amp_text,
            info.world_size,
            cfg.data.train.batch_size,
            cfg.train.steps,
        )

    # ------------------------------------------------------------------ loop

    def _loop(
        self,
        run: _Run,
        batches: Iterator[dict[str, Any]],
        val_loader: Any,
        end: int,
        amp: bool,
        amp_dtype: torch.dtype,
        csv_log: CSVLog | None,
        val_log: CSVLog | None,
        tb: TensorBoardLog | None,
    ) -> None:
        cfg = self.config.train
        clip = self.config.optim.grad_clip
        params = [p for p in run.model.parameters() if p.requires_grad]
        autocast = (
            (lambda: torch.autocast(device_type=run.device.type, dtype=amp_dtype))
            if amp
            else contextlib.nullcontext
        )
        bar = None
        if run.info.is_main and self.progress and run.step < end:
            from tqdm import tqdm

            bar = tqdm(
                total=self.config.train.steps,
                initial=run.step,
                desc=self.config.name,
                dynamic_ncols=True,
            )
        sums: dict[str, Tensor] = {}
        count = 0
        started = time.perf_counter()
        interval_start = started
        try:
            while run.step < end:
                batch = _to_device(next(batches), run.device)
                lr = run.schedule.apply(run.optimizer, run.step)
                run.optimizer.zero_grad(set_to_none=True)
                with autocast():
                    loss, logs = _call_objective(run.objective, run.model, batch)
                if not bool(torch.isfinite(loss.detach())):
                    terms = {k: float(v) for k, v in logs.items()}
                    raise TrainingError(
                        f"the loss became non-finite ({float(loss.detach())}) at step {run.step + 1}; terms {terms}. "
                        f"Lower optim.lr or set optim.grad_clip, then resume from {run.out_dir / LAST}."
                    )
                run.scaler.scale(loss).backward()
                D.average_gradients(params)
                if clip is not None:
                    run.scaler.unscale_(run.optimizer)
                    norm = torch.nn.utils.clip_grad_norm_(params, clip)
                    logs = {**logs, "grad_norm": norm.detach()}
                run.scaler.step(run.optimizer)
                run.scaler.update()
                run.step += 1

                _accumulate(sums, {"loss": loss.detach(), **logs})
                count += 1
                if bar is not None:
                    bar.update(1)

                if run.step % cfg.log_every == 0 or run.step == end:
                    now = time.perf_counter()
                    means = D.mean_over_ranks(
                        {k: float(v) / count for k, v in sums.items()}, run.device
                    )
                    row = {
                        "step": run.step,
                        "lr": lr,
                        **means,
                        "sec_per_step": (now - interval_start) / count,
                        "seconds": run.elapsed + now - started,
                    }
                    if csv_log is not None:
                        csv_log.write(row)
                    if tb is not None:
                        tb.write(run.step, {"lr": lr, **means}, "train")
                    if bar is not None:
                        bar.set_postfix(loss=f"{means['loss']:.4g}", lr=f"{lr:.3g}")
                    sums, count, interval_start = {}, 0, now

                is_best = False
                if val_loader is not None and (
                    run.step % cfg.val_every == 0 or run.step == self.config.train.steps
                ):
                    is_best = self._validate(
                        run,
                        val_loader,
                        val_log,
                        tb,
                        elapsed=run.elapsed + time.perf_counter() - started,
                    )
                if run.step % cfg.ckpt_every == 0 or run.step == end or is_best:
                    self._checkpoint(run, run.elapsed + time.perf_counter() - started, is_best)
        finally:
            if bar is not None:
                bar.close()
        run.elapsed += time.perf_counter() - started

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
            scores = validate(run.model, val_loader, run.device)
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
            run.model.state_dict(),
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
class _Run:
    """Mutable state of one run."""

    model: nn.Module
    objective: Any
    optimizer: torch.optim.Optimizer
    schedule: LRSchedule
    scaler: torch.amp.GradScaler
    sampler: Any
    device: torch.device
    info: D.DistInfo
    out_dir: Path
    step: int
    elapsed: float
    best: float | None
    val_scores: dict[str, float]
    start_step: int = -1

    def __post_init__(self) -> None:
        if self.start_step < 0:
            self.start_step = self.step


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
