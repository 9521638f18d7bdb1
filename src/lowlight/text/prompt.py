"""A prompt encoded once and kept as buffers, so trained weights carry their prompt.

:class:`PromptEmbedding` holds, as buffers (saved in every state dict and safetensors file):

* ``tokens`` ``(1, T_max, D)`` float32: the token embeddings, zero rows after the prompt;
* ``mask`` ``(1, T_max)`` bool: ``True`` on the prompt's tokens;
* ``text`` ``(PROMPT_BYTES,)`` uint8: the prompt, UTF-8, zero padded;
* ``encoder`` ``(ENCODER_BYTES,)`` uint8: the name of the encoder that produced ``tokens``;
* ``ready`` ``()`` bool: whether the buffers hold an encoding.

Life cycle: a new module is *pending* (``ready`` false) with the prompt and encoder name it
was built with; the first :meth:`PromptEmbedding.ensure` (the model's first forward, i.e.
the first training step) encodes it. Loading a state dict whose ``ready`` is true fills all
buffers, so a trained model runs with no text encoder installed; if the loaded prompt or
encoder differs from the constructor's, the loaded ones win (they are what the weights
were trained with) and a warning says so. :meth:`PromptEmbedding.set` encodes a new
prompt with the same encoder; an encoder of another name is refused, since its
embeddings live in a space the model never saw.
"""

from __future__ import annotations

import warnings

import torch
from torch import Tensor, nn

from lowlight.errors import ConfigError
from lowlight.text.base import TextEncoder, TextEncoderError

__all__ = ["ENCODER_BYTES", "PROMPT_BYTES", "PromptEmbedding"]

PROMPT_BYTES = 1024
"""Longest prompt (UTF-8 bytes) a model can store."""

ENCODER_BYTES = 64
"""Longest encoder name (UTF-8 bytes)."""


def _to_bytes(text: str, size: int, what: str) -> Tensor:
    data = text.encode("utf-8")
    if b"\x00" in data:
        raise ConfigError(f"{what} must not contain NUL characters")
    if len(data) > size:
        raise ConfigError(f"{what} is {len(data)} bytes of UTF-8; at most {size} can be stored")
    out = torch.zeros(size, dtype=torch.uint8)
    if data:
        out[: len(data)] = torch.frombuffer(bytearray(data), dtype=torch.uint8)
    return out


def _from_bytes(buffer: Tensor) -> str:
    data = bytes(buffer.detach().cpu().tolist())
    return data.rstrip(b"\x00").decode("utf-8", errors="replace")


class PromptEmbedding(nn.Module):
    """Encoded prompt buffers (see the module docstring).

    Args:
        prompt: the text to encode when no encoding has been loaded.
        encoder: registry name of the text encoder (:mod:`lowlight.text.registry`).
        dim: token embedding size ``D`` the model expects (the encoder's must match).
        max_tokens: ``T_max``, tokens kept per prompt (longer prompts are truncated).

    Shape:
        - :meth:`context` returns tokens ``(B, T_max, D)`` and mask ``(B, T_max)``.
    """

    def __init__(self, prompt: str, encoder: str, dim: int, max_tokens: int = 77) -> None:
        super().__init__()
        if not isinstance(prompt, str):
            raise ConfigError(f"prompt must be a string, got {type(prompt).__name__}")
        if dim < 1 or max_tokens < 2:
            raise ConfigError(f"need dim >= 1 and max_tokens >= 2, got {dim}, {max_tokens}")
        _to_bytes(prompt, PROMPT_BYTES, "the prompt")  # fail at construction, not first use
        _to_bytes(encoder, ENCODER_BYTES, "the encoder name")
        self.pending_prompt = prompt
        self.encoder_name = encoder
        self.dim = int(dim)
        self.max_tokens = int(max_tokens)
        self._synced = False
        self._length = max_tokens
        self.register_buffer("tokens", torch.zeros(1, max_tokens, dim))
        self.register_buffer("mask", torch.zeros(1, max_tokens, dtype=torch.bool))
        self.register_buffer("text", torch.zeros(PROMPT_BYTES, dtype=torch.uint8))
        self.register_buffer("encoder", torch.zeros(ENCODER_BYTES, dtype=torch.uint8))
        self.register_buffer("ready", torch.zeros((), dtype=torch.bool))

    @property
    def prompt(self) -> str:
        """The encoded prompt, or the pending one before the first encoding."""
        return _from_bytes(self.text) if bool(self.ready) else self.pending_prompt

    def is_ready(self) -> bool:
        """Whether the buffers hold an encoding (reads a buffer: a device sync on GPU)."""
        return bool(self.ready)

    def ensure(self) -> None:
        """Encode the pending prompt unless an encoding is present (checked once per load)."""
        if self._synced:
            return
        if not bool(self.ready):
            self.set(self.pending_prompt)
        self._synced = True

    @torch.no_grad()
    def set(self, prompt: str, encoder: TextEncoder | None = None) -> None:
        """Encode ``prompt`` into the buffers.

        Args:
            prompt: the new text.
            encoder: an encoder object to use; default: the registry's
                ``self.encoder_name`` (built and cached on first use). Its ``name`` must be
                ``self.encoder_name``.

        Raises:
            MissingDependencyError: the encoder's packages are not installed.
            TextEncoderError: wrong encoder name or embedding size.
        """
        if encoder is None:
            from lowlight.text.registry import get_text_encoder

            encoder = get_text_encoder(self.encoder_name)
        if encoder.name != self.encoder_name:
            raise TextEncoderError(
                f"this model's prompts are encoded with '{self.encoder_name}'; embeddings from "
                f"'{encoder.name}' live in another space and cannot replace them"
            )
        if encoder.dim != self.dim:
            raise TextEncoderError(
                f"text encoder '{encoder.name}' gives {encoder.dim}-dim tokens, but the model "
                f"expects text_dim={self.dim}"
            )
        text = _to_bytes(prompt, PROMPT_BYTES, "the prompt")
        emb = encoder.encode(prompt, self.max_tokens)
        count = emb.tokens.shape[0]
        if count > self.max_tokens or emb.tokens.shape[1] != self.dim:
            raise TextEncoderError(
                f"encoder '{encoder.name}' returned {tuple(emb.tokens.shape)} token embeddings; "
                f"expected at most ({self.max_tokens}, {self.dim})"
            )
        self.tokens.zero_()
        self.tokens[0, :count].copy_(emb.tokens)
        self.mask.zero_()
        self.mask[0, :count].copy_(emb.mask)
        self.text.copy_(text)
        self.encoder.copy_(_to_bytes(encoder.name, ENCODER_BYTES, "the encoder name"))
        self.ready.fill_(True)
        self.pending_prompt = prompt
        self._length = self._used_length()
        self._synced = True

    def _used_length(self) -> int:
        """1 + the index of the last unmasked token (the rest is padding)."""
        used = torch.nonzero(self.mask[0]).flatten()
        return int(used[-1]) + 1 if used.numel() else self.max_tokens

    def context(self, batch: int, dtype: torch.dtype) -> tuple[Tensor, Tensor]:
        """Tokens ``(batch, T, D)`` in ``dtype`` and mask ``(batch, T)`` (views), where
        ``T <= T_max`` drops the all-padding tail (masked tokens weigh exactly 0 anyway)."""
        self.ensure()
        length = self._length
        tokens = self.tokens[:, :length].to(dtype).expand(batch, -1, -1)
        return tokens, self.mask[:, :length].expand(batch, -1)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs) -> None:  # noqa: ANN001
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
        self._synced = False
        self._length = self._used_length()
        if prefix + "ready" not in state_dict or not bool(self.ready):
            return
        loaded_prompt, loaded_encoder = _from_bytes(self.text), _from_bytes(self.encoder)
        if loaded_encoder != self.encoder_name:
            warnings.warn(
                f"the weights' prompt was encoded with '{loaded_encoder}', not the configured "
                f"'{self.encoder_name}'; using '{loaded_encoder}'",
                stacklevel=2,
            )
            self.encoder_name = loaded_encoder
        if loaded_prompt != self.pending_prompt:
            warnings.warn(
                f"the weights carry the prompt {loaded_prompt!r}, not the configured "
                f"{self.pending_prompt!r}; using the weights' prompt (set_prompt() or "
                "--prompt changes it)",
                stacklevel=2,
            )
            self.pending_prompt = loaded_prompt

    def extra_repr(self) -> str:
        return f"encoder={self.encoder_name!r}, dim={self.dim}, max_tokens={self.max_tokens}"
