"""Batch enhancement on Ray Data: the same mirrored tree and guarantees as
:func:`lowlight.inference.files.enhance_files`, spread over model actors on one machine or
a cluster.

The driver lists the files and plans the outputs exactly as the local engine does (inputs
never overwritten, clashing outputs refused, existing outputs skipped unless
``overwrite``). The remaining ``(source, output)`` pairs become a Ray dataset; each of
``actors`` model actors (one CPU or GPU each) loads the model once and receives batches
of ``files_per_call`` pairs, which it runs through :func:`enhance_files`: so reading with the
pixel limit, batching of equal-size images (``batch_size``), tiling, the atomic write
beside the destination and the per-file error messages are the local engine's own code.
Each actor returns one row per file (``status``, ``message``), and the driver assembles the
same :class:`~lowlight.inference.files.RunSummary`.

Cluster: ``ray.init()`` honours ``RAY_ADDRESS`` (or pass ``address``); inputs and the output
folder must be paths every node sees (a shared file system), as the actors read and write
them. Needs ``pip install 'lowlight[ray]'``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lowlight._optional import require
from lowlight.inference.fast_path import DEFAULT_FAST, FastPathConfig
from lowlight.inference.files import FileResult, RunSummary

__all__ = ["ModelSpec", "WriteOptions", "enhance_files_ray"]

DEFAULT_FILES_PER_CALL = 8


@dataclass(frozen=True)
class ModelSpec:
    """How each actor builds its model (the arguments of ``lowlight enhance``)."""

    name: str
    weights: str | None = "default"
    device: str = "cpu"
    model_args: dict[str, Any] = field(default_factory=dict)
    prompt: str | None = None


@dataclass(frozen=True)
class WriteOptions:
    """Reading, enhancement and writing options passed to :func:`enhance_files`
    (``speed``, ``strength`` and ``fast`` as there: the speed mode, ``None`` for the model's
    default, the enhancement strength and the fast path's settings)."""

    fmt: str | None = None
    bit_depth: int | None = None
    overwrite: bool = False
    batch_size: int = 1
    tile: int = 1024
    overlap: int = 64
    max_pixels: int | None = None
    quality: int = 95
    speed: str | None = None
    strength: float = 1.0
    fast: FastPathConfig = DEFAULT_FAST

    def to_kwargs(self) -> dict[str, Any]:
        """Plain keyword arguments of :func:`enhance_files` (what an actor receives)."""
        return {**asdict(self), "fast": asdict(self.fast)}

    @staticmethod
    def from_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
        """The inverse of :meth:`to_kwargs`, on the actor's side."""
        return {**kwargs, "fast": FastPathConfig(**kwargs["fast"])}


class _EnhanceActor:
    """A Ray Data callable class: loads the model once, enhances batches of file pairs."""

    def __init__(self, spec: dict[str, Any], options: dict[str, Any], threads: int) -> None:
        import torch

        from lowlight.api import load
        from lowlight.cli._common import apply_prompt

        torch.set_num_threads(max(1, threads))
        self.model = load(
            spec["name"], weights=spec["weights"], device=spec["device"], **spec["model_args"]
        )
        apply_prompt(self.model, spec["name"], spec["prompt"])
        self.options = WriteOptions.from_kwargs(options)

    def __call__(self, batch: dict[str, Any]) -> dict[str, list[str]]:
        from lowlight.inference.files import enhance_files

        pairs = [(Path(s), Path(d)) for s, d in zip(batch["src"], batch["dst"], strict=True)]
        summary = enhance_files(self.model, pairs, **self.options)
        done = {(str(r.source), str(r.output)): r for r in summary.results}
        rows: dict[str, list[str]] = {"src": [], "dst": [], "status": [], "message": []}
        for src, dst in pairs:
            result = done.get((str(src), str(dst)))
            rows["src"].append(str(src))
            rows["dst"].append(str(dst))
            rows["status"].append(result.status if result else "failed")
            rows["message"].append(result.message if result else "no result from the actor")
        return rows


def _init_ray(address: str | None, num_cpus: int | None) -> Any:
    ray = require("ray", extra="ray", feature="--engine ray")
    require("ray.data", extra="ray", feature="--engine ray")
    if not ray.is_initialized():
        address = address or os.environ.get("RAY_ADDRESS") or None
        kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
        if address is None and num_cpus is not None:
            kwargs["num_cpus"] = num_cpus
        ray.init(address=address, **kwargs)
    return ray


def enhance_files_ray(
    spec: ModelSpec,
    pairs: Sequence[tuple[Path, Path]],
    options: WriteOptions = WriteOptions(),
    *,
    actors: int = 2,
    threads_per_actor: int = 1,
    files_per_call: int = DEFAULT_FILES_PER_CALL,
    address: str | None = None,
    on_result: Callable[[FileResult], None] | None = None,
) -> RunSummary:
    """Enhance image ``(source, output)`` pairs on Ray Data with ``actors`` model actors.

    Args:
        spec: the model every actor loads.
        pairs: planned pairs (:func:`~lowlight.inference.files.plan_outputs`); images only.
        options: as for :func:`~lowlight.inference.files.enhance_files`.
        actors: model actors (each holds one model; ``threads_per_actor`` CPUs, or one GPU
            when ``spec.device`` is ``cuda``).
        threads_per_actor: torch threads (and Ray CPUs) per actor.
        files_per_call: files handed to an actor at once (Ray Data's batch).
        address: a Ray cluster (default ``$RAY_ADDRESS``, else a local instance started
            with ``actors * threads_per_actor`` CPUs).
        on_result: called once per file as results arrive (progress).

    Returns:
        the run summary (written / skipped / failed, per file, with messages).
    """
    start = time.perf_counter()
    summary = RunSummary()

    def record(result: FileResult) -> None:
        summary.results.append(result)
        if on_result is not None:
            on_result(result)

    todo = []
    for src, dst in pairs:
        if dst.exists() and not options.overwrite:
            record(FileResult(src, dst, "skipped", "output exists (use --overwrite)"))
        else:
            todo.append({"src": str(src), "dst": str(dst)})
    if todo:
        ray = _init_ray(address, actors * threads_per_actor)
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False
        context.print_on_execution_start = False
        gpu = spec.device.startswith("cuda")
        dataset = ray.data.from_items(todo, override_num_blocks=min(len(todo), 4 * actors))
        results = dataset.map_batches(
            _EnhanceActor,
            fn_constructor_kwargs={
                "spec": asdict(spec),
                "options": options.to_kwargs(),
                "threads": threads_per_actor,
            },
            batch_size=files_per_call,
            batch_format="numpy",
            concurrency=actors,
            num_cpus=threads_per_actor,
            num_gpus=1 if gpu else 0,
        )
        for row in results.iter_rows():
            record(FileResult(Path(row["src"]), Path(row["dst"]), row["status"], row["message"]))
    summary.seconds = time.perf_counter() - start
    return summary
