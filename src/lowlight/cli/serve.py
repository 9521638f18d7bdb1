"""``lowlight serve``: a local web page to enhance photos (see :mod:`lowlight.deploy.server`)."""

from __future__ import annotations

import click

from lowlight.deploy.server import DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=7860, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--model",
    "-m",
    "models",
    multiple=True,
    help="Models offered (repeatable); default: every model that ships what it needs.",
)
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda, cuda:N or mps.")
@click.option(
    "--max-upload-mb",
    default=DEFAULT_MAX_BYTES // 2**20,
    show_default=True,
    type=click.IntRange(min=1),
    help="Largest upload accepted.",
)
@click.option(
    "--max-pixels",
    default=DEFAULT_MAX_PIXELS,
    show_default=True,
    type=click.IntRange(min=1),
    help="Largest image accepted, checked before decoding.",
)
def command(
    host: str,
    port: int,
    models: tuple[str, ...],
    device: str,
    max_upload_mb: int,
    max_pixels: int,
) -> None:
    """Serve a page where photos are uploaded, enhanced and downloaded (localhost only by
    default; nothing uploaded is written to disk). Needs 'lowlight[serve]'."""
    from lowlight._optional import require
    from lowlight.deploy.server import create_app

    uvicorn = require("uvicorn", extra="serve", feature="lowlight serve")
    if host not in LOCAL_HOSTS:
        click.echo(
            f"warning: binding {host}: anyone who can reach this address can use the page "
            "(it has no authentication)",
            err=True,
        )
    app = create_app(
        list(models) or None,
        device=device,
        max_bytes=max_upload_mb * 2**20,
        max_pixels=max_pixels,
    )
    click.echo(f"lowlight serve: http://{host}:{port}/  (Ctrl+C to stop)")
    uvicorn.run(app, host=host, port=port, log_level="warning")
