"""The ``lowlight`` command group. Subcommands live in their own modules and are imported
only when invoked, so ``lowlight --help`` stays fast and one broken optional dependency
cannot break unrelated commands."""

from __future__ import annotations

import errno
import importlib
import importlib.util
import sys

import click

from lowlight import __version__
from lowlight.errors import LowlightError

COMMANDS: dict[str, tuple[str, str]] = {
    "enhance": (
        "lowlight.cli.enhance",
        "Enhance images and videos: files, folders (recursive) or globs.",
    ),
    "eval": ("lowlight.cli.evaluate", "Score a model or predictions with the field's metrics."),
    "bench": ("lowlight.cli.bench", "Parameters, MACs, latency and peak memory of a model."),
    "models": ("lowlight.cli.models", "List registered models and shipped weights."),
    "demo": ("lowlight.cli.demo", "Enhance synthesised dark photos and write a contact sheet."),
    "train": ("lowlight.cli.train", "Train a model from a YAML recipe."),
    "synth": ("lowlight.cli.synth", "Synthesise low-light/normal pairs from well-exposed photos."),
    "sequence-pairs": (
        "lowlight.cli.sequence_pairs",
        "Real dark/reference pairs from multi-exposure scenes (SICE), with a grouping report.",
    ),
    "export": ("lowlight.cli.export", "Export a model to ONNX (any size, verified)."),
    "serve": ("lowlight.cli.serve", "A local web page to enhance photos in the browser."),
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        available = []
        for name, (module, _) in COMMANDS.items():
            if importlib.util.find_spec(module) is not None:
                available.append(name)
        return sorted(available)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module_name, _ = COMMANDS[cmd_name]
        if importlib.util.find_spec(module_name) is None:
            return None
        module = importlib.import_module(module_name)
        return module.command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="lowlight")
def cli() -> None:
    """lowlight: low-light image enhancement (LucentVisionNet, NaLSuper, MIRNet, IRLE, LFPV
    and classical baselines)."""


_STORAGE_ERRORS = frozenset(
    {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG, errno.ENAMETOOLONG}
)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI, turning :class:`LowlightError` into a one-line message."""
    try:
        code = cli.main(args=argv, prog_name="lowlight", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except LowlightError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    except OSError as exc:
        if exc.errno not in _STORAGE_ERRORS:
            raise
        click.echo(f"error: {exc}", err=True)  # full disk, quota, read-only: no traceback
        sys.exit(2)
    if isinstance(code, int) and code != 0:
        sys.exit(code)
