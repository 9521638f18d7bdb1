"""``lowlight export``: write a model as an ONNX file that runs at any size, and check it."""

from __future__ import annotations

from pathlib import Path

import click

from lowlight.cli._common import apply_prompt, load_model_from_options

VERIFY_SIZES = ((64, 96), (67, 101), (257, 191))
"""Sizes checked against PyTorch after export: the traced size, odd sizes, both orientations."""


@click.command("export")
@click.argument("name", metavar="MODEL")
@click.option(
    "--output",
    "-o",
    "output",
    default=None,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Output file; default: MODEL.onnx (MODEL-DTYPE.onnx for other dtypes).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["onnx"]),
    default="onnx",
    show_default=True,
    help="Export format.",
)
@click.option(
    "--dtype",
    type=click.Choice(["float32", "bfloat16", "float16"]),
    default="float32",
    show_default=True,
    help="Weights and arithmetic inside the graph (input and output stay float32); "
    "bfloat16 is refused with the reason.",
)
@click.option(
    "--weights",
    default="default",
    show_default=True,
    help="'default' (the shipped weights), a record name, a .safetensors/.pt file or checkpoint, "
    "or 'none' (random parameters).",
)
@click.option(
    "--model-arg", "model_args", multiple=True, metavar="KEY=VALUE", help="Constructor override."
)
@click.option("--prompt", default=None, metavar="TEXT", help="Text-guided models: bake in TEXT.")
@click.option("--opset", default=None, type=click.IntRange(min=17), help="ONNX opset.")
@click.option(
    "--verify/--no-verify",
    default=True,
    show_default=True,
    help="Compare onnxruntime with PyTorch at three sizes (needs onnxruntime).",
)
def command(
    name: str,
    output: Path | None,
    fmt: str,
    dtype: str,
    weights: str,
    model_args: tuple[str, ...],
    prompt: str | None,
    opset: int | None,
    verify: bool,
) -> None:
    """Export MODEL (with its shipped weights, or --weights) to ONNX.

    The graph takes ``image`` float32 (B, 3, H, W) in [0, 1] with any batch, height and width
    pads and crops inside, and returns ``enhanced`` of the same shape; the weights'
    provenance record is stored as metadata. --dtype float16 halves the file and
    runs in float16 inside; bfloat16 is refused (onnxruntime's CPU provider has no bfloat16
    convolution to verify it with).
    LIME and CLAHE cannot be expressed as graphs and are refused with the reason.
    """
    from lowlight.deploy.onnx_export import export_onnx, verify_onnx

    model = load_model_from_options(name, weights, "cpu", model_args)
    apply_prompt(model, name, prompt)
    if output is None:
        stem = name if dtype == "float32" else f"{name}-{dtype}"
        output = Path(f"{stem}.{fmt}")
    export_onnx(model, output, name=name, dtype=dtype, opset=opset)
    size_mb = output.stat().st_size / 2**20
    click.echo(f"wrote {output} ({size_mb:.1f} MiB, {dtype}, dynamic batch/height/width)")
    if not verify:
        return
    for row in verify_onnx(output, model, list(VERIFY_SIZES)):
        status = "finite" if row["finite"] else "NOT FINITE"
        click.echo(
            f"  {row['size']:>8}: max |onnxruntime - pytorch float32| = {row['max_abs_diff']:.2e} ({status})"
        )
