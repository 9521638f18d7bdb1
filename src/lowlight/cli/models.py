"""``lowlight models``: registered models and shipped weights."""

from __future__ import annotations

import click


@click.command("models")
def command() -> None:
    """List registered models with their kind, default weights and paper."""
    from lowlight.api import DEFAULT_MODEL
    from lowlight.registry import MODELS
    from lowlight.weights import shipped_records

    records = shipped_records()
    rows = [("name", "kind", "speed", "default weights", "paper")]
    for entry in MODELS.entries():
        name = entry.name + (" *" if entry.name == DEFAULT_MODEL else "")
        rows.append(
            (
                name,
                entry.meta.get("kind", "?"),
                _speed(entry.obj),
                entry.meta.get("default_weights") or "-",
                entry.meta.get("paper") or "-",
            )
        )
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    click.echo("* default model of `lowlight enhance`")
    click.echo(
        "speed: the model's default --speed (fast / balanced: the network on a ~1 / ~4 MP copy, "
        "applied at full resolution; full: the network at full resolution; "
        "'full only': the model opts out of the fast path)"
    )
    if records:
        click.echo("\nshipped weights:")
        for record in records.values():
            click.echo(
                f"  {record.name} ({record.model}): {record.training_data}; sha256 {record.sha256[:12]}..."
            )
            click.echo(f"    licence: {record.license}")
            if record.config:
                settings = ", ".join(f"{k}={v}" for k, v in record.config.items())
                click.echo(
                    f"    model settings of these weights (--model-arg overrides): {settings}"
                )
    if MODELS.import_errors:
        click.echo("\nmodules that failed to import:", err=True)
        for module, error in MODELS.import_errors.items():
            click.echo(f"  {module}: {error}", err=True)


def _speed(obj: object) -> str:
    """The model's default speed, or ``full only`` when it opts out of the fast path;
    ``obj`` is the registered class or factory (its return annotation names the class)."""
    import typing

    cls = obj
    if not isinstance(obj, type):
        try:
            cls = typing.get_type_hints(obj).get("return", obj)
        except Exception:  # noqa: BLE001 - an unresolvable annotation: report the base default
            cls = obj
    if not getattr(cls, "fast_path", True):
        return "full only"
    return str(getattr(cls, "default_speed", "full"))
