"""Does NaLSuper listen to its prompt? LOL eval15 under the trained, a contradictory and an
empty prompt.

For trained NaLSuper weights (a ``.safetensors`` file with its ``.json`` record beside it,
or a shipped record name), every pair of LOL-v1 eval15 is enhanced whole (no tiling, float32)
once per condition, conditioned on

* ``stored``: the prompt the weights were trained with (kept in their buffers);
* ``paraphrase``: ``"normal light image"`` (the paper's prompt: a model whose text space
  means something should treat it much like the stored one);
* ``contradictory``: ``"dark image"``;
* ``empty``: ``""``,

and scored with the evaluation protocol (:func:`lowlight.metrics.score_pair`: 8-bit
quantised PSNR and MATLAB SSIM on RGB, plus the GT-mean twins). Brightness is the mean BT.601
luma of the output in [0, 1]; the inputs' and references' brightness are reported beside.
A model that ignores its text gives equal rows; the paper's claim (the text guides the
enhancement) predicts a darker output for "dark image".

Prompts other than the stored one are encoded with the model's text encoder, so this needs
``pip install 'lowlight[text]'`` (MiniLM) or the encoder the weights were trained with.

    python benchmarks/nalsuper_prompts.py --weights runs/nalsuper_small_synth/export/nalsuper_small_synth.safetensors
    python benchmarks/nalsuper_prompts.py --weights W.safetensors --out benchmarks/results/nalsuper_prompts

Writes ``<out>/nalsuper_prompts.json`` and ``<out>/nalsuper_prompts.md``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
PROMPTS = {
    "stored": None,
    "paraphrase": "normal light image",
    "contradictory": "dark image",
    "empty": "",
}
METRICS = ("psnr", "ssim", "psnr_gtmean", "ssim_gtmean")


def mean_luma(rgb: torch.Tensor) -> float:
    """Mean BT.601 luma of ``(1, 3, H, W)`` or ``(3, H, W)`` sRGB in [0, 1]."""
    from lowlight.color import luma

    x = rgb if rgb.ndim == 4 else rgb[None]
    return float(luma(x.float(), standard="bt601").mean())


def load_pairs(root: Path, limit: int | None) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """``(stem, low (H, W, 3), high (H, W, 3))`` float32 in [0, 1] for every pair under ``root``."""
    from lowlight.data.pairs import find_pairs, resolve_paired_root
    from lowlight.io.image import read_image

    pairs = find_pairs(*resolve_paired_root(root))
    if limit is not None:
        pairs = pairs[:limit]
    return [(p.stem, read_image(p.input).rgb, read_image(p.target).rgb) for p in pairs]


def load_model(weights: str, model_name: str | None, device: str) -> tuple[str, Any]:
    """``(model name, model)`` for ``weights``; the name comes from the record when not given."""
    import lowlight
    from lowlight.errors import ConfigError
    from lowlight.weights import WeightRecord

    if model_name is None:
        sidecar = Path(weights).with_suffix(".json")
        if sidecar.is_file():
            model_name = WeightRecord.from_json(sidecar).model
        else:
            from lowlight.weights import shipped_record

            model_name = shipped_record(weights)[0].model
    model = lowlight.load(model_name, weights=weights, device=device)
    if getattr(model, "prompt", None) is None:
        raise ConfigError(f"model '{model_name}' has no text path; nothing to compare")
    return model_name, model


@torch.inference_mode()
def run(model: Any, pairs: list[tuple[str, np.ndarray, np.ndarray]]) -> dict[str, Any]:
    """Scores per prompt condition (means over images) and per image."""
    from lowlight.metrics import score_pair
    from lowlight.text import get_text_encoder

    stored = model.prompt
    get_text_encoder(model.prompt_embedding.encoder_name)  # fail before any work if missing
    conditions: dict[str, Any] = {}
    for key, prompt in PROMPTS.items():
        text = stored if prompt is None else prompt
        model.set_prompt(text)
        rows = []
        start = time.perf_counter()
        for stem, low, high in pairs:
            x = torch.from_numpy(low).permute(2, 0, 1)[None].to(model.device)
            y = model(x)[0].float().cpu()
            scores = score_pair(y.permute(1, 2, 0).numpy(), high, metrics=("psnr", "ssim"))
            row = {"image": stem, "brightness": mean_luma(y)}
            row.update({m: float(scores[m]) for m in METRICS})
            rows.append(row)
        mean = {k: float(np.mean([r[k] for r in rows])) for k in ("brightness", *METRICS)}
        conditions[key] = {
            "prompt": text,
            "mean": mean,
            "images": rows,
            "seconds": time.perf_counter() - start,
        }
    model.set_prompt(stored)
    reference = {
        "input_brightness": float(
            np.mean([mean_luma(torch.from_numpy(lo).permute(2, 0, 1)) for _, lo, _ in pairs])
        ),
        "target_brightness": float(
            np.mean([mean_luma(torch.from_numpy(hi).permute(2, 0, 1)) for _, _, hi in pairs])
        ),
    }
    return {"conditions": conditions, "reference": reference}


def markdown(result: dict[str, Any]) -> str:
    ref = result["reference"]
    lines = [
        "# NaLSuper prompt sensitivity on LOL-v1 eval15",
        "",
        f"weights: `{result['weights']}` (model `{result['model']}`, text encoder "
        f"`{result['encoder']}`), {result['images']} images, whole frames, float32.",
        f"Mean BT.601 luma of the inputs {ref['input_brightness']:.4f}, of the references "
        f"{ref['target_brightness']:.4f}.",
        "",
        "| condition | prompt | brightness | PSNR (dB) | SSIM | PSNR GT-mean | SSIM GT-mean |",
        "|---|---|---|---|---|---|---|",
    ]
    for key, cond in result["conditions"].items():
        m = cond["mean"]
        lines.append(
            f"| {key} | {json.dumps(cond['prompt'])} | {m['brightness']:.4f} | {m['psnr']:.3f} | "
            f"{m['ssim']:.4f} | {m['psnr_gtmean']:.3f} | {m['ssim_gtmean']:.4f} |"
        )
    lines += [
        "",
        "PSNR/SSIM: `lowlight.metrics.score_pair` (8-bit quantised, RGB, full frame; GT-mean: "
        "output brightness-matched to the reference first).",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--weights", required=True, help=".safetensors path or record name")
    parser.add_argument("--model", default=None, help="model name (default: the record's)")
    parser.add_argument("--data", type=Path, default=DATA / "lol_v1" / "eval15")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks/results/nalsuper_prompts")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--max-images", type=int, default=None)
    args = parser.parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)

    model_name, model = load_model(args.weights, args.model, args.device)
    pairs = load_pairs(args.data, args.max_images)
    result = {
        "weights": str(args.weights),
        "model": model_name,
        "encoder": model.prompt_embedding.encoder_name,
        "data": str(args.data),
        "images": len(pairs),
        "device": str(model.device),
        "torch": torch.__version__,
    }
    result.update(run(model, pairs))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "nalsuper_prompts.json").write_text(json.dumps(result, indent=2) + "\n")
    report = markdown(result)
    (args.out / "nalsuper_prompts.md").write_text(report)
    print(report)


if __name__ == "__main__":
    main()
