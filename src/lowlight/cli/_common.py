"""Options shared by several commands."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import click
import yaml

from lowlight.device import DEVICE_CHOICES
from lowlight.errors import ConfigError

F = TypeVar("F", bound=Callable[..., Any])


def parse_key_values(pairs: Sequence[str]) -> dict[str, Any]:
    """``["iterations=4", "scales=[1,2]"]`` -> ``{"iterations": 4, "scales": [1, 2]}``.

    Values are parsed with ``yaml.safe_load`` (numbers, booleans, lists); never evaluated.
    """
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"expected KEY=VALUE, got '{pair}'")
        try:
            out[key.strip()] = yaml.safe_load(value)
        except yaml.YAMLError as exc:
            raise ConfigError(f"cannot parse the value of '{pair}': {exc}") from exc
    return out


def model_options(default_model: str | None) -> Callable[[F], F]:
    """``--model``, ``--weights``, ``--device`` and ``--model-arg`` for commands that run a model."""

    def decorator(func: F) -> F:
        func = click.option(
            "--sha256",
            default=None,
            metavar="HEX",
            expose_value=False,
            callback=_remember_sha256,
            help="sha256 of the --weights file (or a prefix of 8+ hex digits); a mismatch is "
            "refused. Files with a record beside them or a hash in their name are checked anyway.",
        )(func)
        func = click.option(
            "--model-arg",
            "model_args",
            multiple=True,
            metavar="KEY=VALUE",
            help="Constructor override for the model (repeatable); must match the weights.",
        )(func)
        func = click.option(
            "--device",
            default="auto",
            show_default=True,
            help=f"One of {', '.join(DEVICE_CHOICES)} (or cuda:N).",
        )(func)
        func = click.option(
            "--weights",
            default="default",
            show_default=True,
            help="'default' (the model's shipped weights), a shipped record name, a .safetensors/.pt "
            "file or a training checkpoint, or 'none' for random initialisation.",
        )(func)
        func = click.option(
            "--model",
            "-m",
            "model_name",
            default=default_model,
            show_default=default_model is not None,
            required=default_model is None,
            help="Registered model name (see `lowlight models`).",
        )(func)
        return func

    return decorator


def load_model_from_options(
    model_name: str,
    weights: str,
    device: str,
    model_args: Sequence[str],
    *,
    allow_random_default: bool = False,
) -> Any:
    """Load a model as the options describe (``--weights none`` means random init).

    With ``allow_random_default`` (benchmarks, which time untrained networks), ``--weights
    default`` on a learned model that ships no weights gives random parameters instead of an
    error; callers say so in their report.
    """
    import warnings

    from lowlight.api import load, model_info
    from lowlight.weights import UnverifiedWeightsWarning

    chosen: str | None = None if weights.lower() == "none" else weights
    if (
        allow_random_default
        and chosen == "default"
        and model_info(model_name).get("default_weights") is None
    ):
        chosen = None
    ctx = click.get_current_context(silent=True)
    sha256 = ctx.meta.get(_SHA256_KEY) if ctx is not None else None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UnverifiedWeightsWarning)
        model = load(
            model_name, weights=chosen, device=device, sha256=sha256, **parse_key_values(model_args)
        )
    for warning in caught:
        if issubclass(warning.category, UnverifiedWeightsWarning):
            click.echo(f"warning: {warning.message}", err=True)
        else:
            warnings.warn_explicit(
                warning.message, warning.category, warning.filename, warning.lineno
            )
    return model


_SHA256_KEY = "lowlight.sha256"


def _remember_sha256(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    """Keep ``--sha256`` in the context (commands need no extra parameter for it)."""
    if value is not None:
        ctx.meta[_SHA256_KEY] = value


def prompt_option(func: F) -> F:
    """``--prompt`` for commands that run a text-guided model (NaLSuper)."""
    return click.option(
        "--prompt",
        default=None,
        metavar="TEXT",
        help="Text-guided models (nalsuper): condition on TEXT instead of the prompt stored in "
        "the weights (needs a text encoder: pip install 'lowlight[text]').",
    )(func)


def apply_prompt(model: Any, model_name: str, prompt: str | None) -> None:
    """Re-encode ``model``'s prompt as ``--prompt`` asks (nothing when ``prompt`` is ``None``).

    Raises:
        ConfigError: the model has no text path.
        MissingDependencyError: no text encoder is installed.
    """
    if prompt is None:
        return
    if not callable(getattr(model, "set_prompt", None)) or getattr(model, "prompt", None) is None:
        raise ConfigError(
            f"model '{model_name}' has no text path, so --prompt does not apply (text-guided "
            "models: nalsuper, nalsuper_small, built with use_text=true)"
        )
    model.set_prompt(prompt)
