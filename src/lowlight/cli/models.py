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
    rows = [("name", "kind", "default weights", "paper")]
    for entry in MODELS.entries():
        name = entry.name + (" *" if entry.name == DEFAULT_MODEL else "")
        rows.append(
            (
                name,
                entry.meta.get("kind", "?"),
                entry.meta.get("default_weights") or "-",
                entry.meta.get("paper") or "-",
            )
        )
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    click.echo("* default model of `lowlight enhance`")
    if records:
        click.echo("\nshipped weights:")
        for record in records.values():
            click.echo(
                f"  {record.name} ({record.model}): {record.training_data}; sha256 {record.sha256[:12]}..."
            )
            click.echo(f"    licence: {record.license}")
    if MODELS.import_errors:
        click.echo("\nmodules that failed to import:", err=True)
        for module, error in MODELS.import_errors.items():
            click.echo(f"  {module}: {error}", err=True)
