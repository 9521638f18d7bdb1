"""CLIP's text transformer as a prompt encoder (the encoder the NaLSuper paper uses).

Radford et al., "Learning Transferable Visual Models From Natural Language Supervision",
arXiv 2103.00020. The token embeddings are the final-layer-normed last hidden state of
the text transformer (``CLIPTextModel``'s ``last_hidden_state``, one ``D``-vector per BPE
token, ``D = 512`` for ViT-B/32 and ViT-B/16, 768 for ViT-L/14), before the pooling at the
end-of-text token and the projection into the joint space: the per-word features that a
cross-attention over "sentence words" needs, as latent diffusion's text conditioning uses
them. Padding to the 77-token context is masked out.

Loaded with Hugging Face ``transformers`` and ``local_files_only=True``: the weights must
already be on disk, as a folder (``CLIPTextModel`` / full ``CLIPModel`` checkpoint with its
tokenizer files) or a hub name present in the local cache. Nothing is downloaded at run
time; fetch them once yourself (``huggingface-cli download openai/clip-vit-base-patch32``).
The registry's ``clip`` entry uses ``$LOWLIGHT_CLIP_MODEL`` (default
``openai/clip-vit-base-patch32``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from lowlight._optional import require
from lowlight.text.base import (
    TextEncoder,
    TextEncoderError,
    TokenEmbeddings,
    transformer_tokens,
)

__all__ = ["CLIP_CONTEXT", "DEFAULT_CLIP_MODEL", "CLIPTextEncoder", "default_clip_model"]

DEFAULT_CLIP_MODEL = "openai/clip-vit-base-patch32"
CLIP_CONTEXT = 77
_FEATURE = "the 'clip' text encoder (NaLSuper prompts)"


def default_clip_model() -> str:
    """``$LOWLIGHT_CLIP_MODEL`` or :data:`DEFAULT_CLIP_MODEL`."""
    return os.environ.get("LOWLIGHT_CLIP_MODEL", DEFAULT_CLIP_MODEL)


class CLIPTextEncoder(TextEncoder):
    """Per-token features of CLIP's text transformer (see the module docstring).

    Args:
        model: a local folder or a hub name already in the local cache.
        device: where the encoder runs.

    Raises:
        MissingDependencyError: ``transformers`` is not installed.
        TextEncoderError: the weights are not available offline.
    """

    name = "clip"

    def __init__(self, model: str | Path | None = None, device: str = "cpu") -> None:
        transformers = require("transformers", extra="text", feature=_FEATURE)
        self.model = str(model if model is not None else default_clip_model())
        try:
            self._tokenizer: Any = transformers.CLIPTokenizer.from_pretrained(
                self.model, local_files_only=True
            )
            text_model = transformers.CLIPTextModel.from_pretrained(
                self.model, local_files_only=True
            )
        except (OSError, ValueError) as exc:
            raise TextEncoderError(
                f"CLIP text weights '{self.model}' are not available offline ({exc}). Point "
                "$LOWLIGHT_CLIP_MODEL at a local CLIP folder, or fetch them once with "
                f"`huggingface-cli download {self.model}`; lowlight never downloads at run time"
            ) from exc
        self._model = text_model.to(device).eval().requires_grad_(False)
        self.dim = int(text_model.config.hidden_size)
        self.context = int(getattr(text_model.config, "max_position_embeddings", CLIP_CONTEXT))
        self.device = torch.device(device)

    @torch.no_grad()
    def encode(self, prompt: str, max_tokens: int) -> TokenEmbeddings:
        length = min(max_tokens, self.context)
        if length < 2:
            raise TextEncoderError(f"CLIP needs max_tokens >= 2 (start and end), got {max_tokens}")
        batch = self._tokenizer(
            [prompt], truncation=True, max_length=length, padding=False, return_tensors="pt"
        )
        return transformer_tokens(self._model, batch, self.device)
