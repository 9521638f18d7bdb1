"""The text-encoder interface: a prompt in, token embeddings ``(T, D)`` and a mask out.

An encoder is *frozen*: it has no trainable parameters that lowlight optimises, and the
same prompt always gives the same embeddings. Text-guided models (NaLSuper) encode their
prompt once and keep the result as buffers (:class:`lowlight.text.prompt.PromptEmbedding`),
so inference with a trained prompt needs no encoder.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from lowlight.errors import LowlightError

__all__ = ["TextEncoder", "TextEncoderError", "TokenEmbeddings", "transformer_tokens"]


class TextEncoderError(LowlightError):
    """A text encoder that cannot be loaded or used (weights not available offline,
    an embedding size that does not fit the model, an unusable prompt)."""


@dataclass(frozen=True)
class TokenEmbeddings:
    """The encoding of one prompt.

    Attributes:
        tokens: ``(T, D)`` float32 on the CPU, one row per token (special tokens included).
        mask: ``(T,)`` bool, ``True`` for real tokens; at least one is ``True``.
    """

    tokens: Tensor
    mask: Tensor

    def __post_init__(self) -> None:
        if self.tokens.ndim != 2 or self.mask.shape != self.tokens.shape[:1]:
            raise TextEncoderError(
                f"token embeddings must be (T, D) with a (T,) mask, got "
                f"{tuple(self.tokens.shape)} and {tuple(self.mask.shape)}"
            )
        if not bool(self.mask.any()):
            raise TextEncoderError("a prompt encoding needs at least one unmasked token")


class TextEncoder(ABC):
    """A frozen text encoder.

    Attributes:
        name: registry name (``"minilm"``, ``"clip"``, ...); stored with encoded prompts so
            that a prompt is never re-encoded into a different embedding space.
        dim: embedding size ``D`` of every token.
    """

    name: str
    dim: int

    @abstractmethod
    def encode(self, prompt: str, max_tokens: int) -> TokenEmbeddings:
        """Token embeddings of ``prompt``, at most ``max_tokens`` rows (longer prompts are
        truncated the way the encoder's tokenizer truncates)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, dim={self.dim})"


@torch.no_grad()
def transformer_tokens(model: Any, batch: Any, device: torch.device) -> TokenEmbeddings:
    """The last hidden state of a ``transformers`` text model for one tokenised prompt.

    Args:
        model: a ``transformers`` encoder (BERT, CLIP text model) returning
            ``last_hidden_state`` ``(1, T, D)``.
        batch: its tokenizer's output for ``[prompt]`` (``input_ids``, ``attention_mask``).
        device: where ``model`` runs.

    Returns:
        ``(T, D)`` float32 tokens and their ``(T,)`` mask, on the CPU.
    """
    out = model(
        input_ids=batch["input_ids"].to(device),
        attention_mask=batch["attention_mask"].to(device),
    )
    tokens = out.last_hidden_state[0].float().cpu()
    return TokenEmbeddings(tokens, batch["attention_mask"][0].bool().cpu())
