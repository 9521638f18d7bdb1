"""``lowlight train``: train a model from a YAML recipe (see :mod:`lowlight.train.config`).

Data parallel over several processes (CPU gloo or CUDA nccl)::

    torchrun --nproc_per_node 2 -m lowlight train lucent_sice
"""

from __future__ import annotations

import logging
import shlex
import sys
from collections.abc import Callable
from pathlib import Path

import click


@click.command("train")
@click.argument("config_path", metavar="RECIPE")
@click.option("--resume", is_flag=True, help="Continue the run in out_dir from its last.ckpt.")
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a recipe value, e.g. --set train.steps=200 --set optim.lr=2e-4 (repeatable; "
    "values are parsed as YAML).",
)
@click.option("--out-dir", default=None, help="Run folder (overrides train.out_dir).")
@click.option(
    "--steps", default=None, type=click.IntRange(min=1), help="Total steps (overrides train.steps)."
)
@click.option(
    "--device", default=None, help="auto, cpu, cuda, cuda:N or mps (overrides train.device)."
)
@click.option("--print-config", is_flag=True, help="Print the resolved recipe as YAML and exit.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar; warnings only on the console.")
def command(
    config_path: str,
    resume: bool,
    overrides: tuple[str, ...],
    out_dir: str | None,
    steps: int | None,
    device: str | None,
    print_config: bool,
    quiet: bool,
) -> None:
    """Train the model of RECIPE: a shipped recipe's name (lucent_sice, mirnet_small_synth, ...;
    see src/lowlight/recipes/) or the path of a YAML file.

    Relative paths in the recipe resolve against the current folder: run from the
    repository root. The run folder gets last.ckpt (every train.ckpt_every steps),
    best.ckpt (best validation score), log.csv, val.csv, train.log, config.yaml and, at
    the end, export/<name>.safetensors with its provenance record.
    """
    from lowlight.train.config import load_config
    from lowlight.train.distributed import env_info
    from lowlight.train.trainer import Trainer

    extra = list(overrides)
    if out_dir is not None:
        extra.append(f"train.out_dir={_yaml_string(out_dir)}")
    if steps is not None:
        extra.append(f"train.steps={steps}")
    if device is not None:
        extra.append(f"train.device={_yaml_string(device)}")
    from lowlight.recipes import resolve_recipe

    config = load_config(resolve_recipe(config_path), extra)
    if print_config:
        click.echo(config.to_yaml(), nl=False)
        return
    info = env_info()
    undo = _configure_console(quiet or not info.is_main)
    try:
        trainer = Trainer(
            config, resume=resume, progress=not quiet and info.is_main, command=_command_line()
        )
        result = trainer.fit()
    finally:
        undo()
    if info.is_main:
        if result.export_path is not None:
            click.echo(f"weights: {result.export_path}")
        if result.val_scores:
            scores = ", ".join(f"{k} {v:.4f}" for k, v in result.val_scores.items())
            click.echo(f"final validation: {scores}")


def _yaml_string(text: str) -> str:
    """Quote ``text`` so ``yaml.safe_load`` gives it back as a string."""
    return "'" + text.replace("'", "''") + "'"


def _command_line() -> str:
    """The command as typed: ``lowlight ...`` or ``python -m lowlight ...``; under
    ``torchrun`` (which starts ``python -m lowlight`` per process) the launcher is
    reconstructed from its environment."""
    import os

    argv = list(sys.argv)
    if argv and Path(argv[0]).name == "__main__.py":
        argv[0:1] = ["python", "-m", "lowlight"]
    elif argv:
        argv[0] = Path(argv[0]).name
    world = int(os.environ.get("WORLD_SIZE", "1") or 1)
    if world > 1 and argv[:3] == ["python", "-m", "lowlight"]:
        local = int(os.environ.get("LOCAL_WORLD_SIZE", str(world)) or world)
        nodes = f" --nnodes {world // local}" if world // local > 1 else ""
        return f"torchrun{nodes} --nproc_per_node {local} -m lowlight " + shlex.join(argv[3:])
    return shlex.join(argv)


def _configure_console(quiet: bool) -> Callable[[], None]:
    """Print the training log on the console (through tqdm); returns the undo."""
    from lowlight.train.logger import TqdmHandler, get_logger

    logger = get_logger()
    handler = TqdmHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.setLevel(logging.WARNING if quiet else logging.INFO)
    saved = (logger.level, logger.propagate)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False

    def undo() -> None:
        logger.removeHandler(handler)
        logger.setLevel(saved[0])
        logger.propagate = saved[1]

    return undo
