"""A dependency-free, deterministic text encoder with no language knowledge.

Each word (lower-cased ``\\w+`` run) and each punctuation mark becomes one token; a token's
vector is drawn from a standard normal generator seeded by the BLAKE2b hash of the token,
scaled by ``1 / sqrt(D)``; ``<bos>`` and ``<eos>`` tokens frame the prompt, so the empty
prompt still has two tokens. Equal words give equal vectors, different words unrelated ones
("dark" is no closer to "dim" than to "bright"), and word order is not encoded.

Uses: tests and the registry-wide model sweep (no optional packages needed), and a control
for ablations ("a text path whose embeddings carry no meaning").
"""

from __future__ import annotations

import hashlib
import math
import re

import torch

from lowlight.errors import ConfigError
from lowlight.text.base import TextEncoder, TokenEmbeddings

__all__ = ["HashTextEncoder", "tokenize_words"]

_TOKEN = re.compile(r"\w+|[^\w\s]")


def tokenize_words(prompt: str) -> list[str]:
    """``"A dark, noisy photo"`` -> ``["<bos>", "a", "dark", ",", "noisy", "photo", "<eos>"]``."""
    return ["<bos>", *_TOKEN.findall(prompt.lower()), "<eos>"]


class HashTextEncoder(TextEncoder):
    """Hashed bag-of-words embeddings (see the module docstring).

    Args:
        dim: embedding size ``D`` (384, as MiniLM's, so the two are interchangeable in a model).
        name: registry name stored with encoded prompts.
    """

    def __init__(self, dim: int = 384, name: str = "hash") -> None:
        if dim < 1:
            raise ConfigError(f"hash encoder dim must be >= 1, got {dim}")
        self.dim = int(dim)
        self.name = name

    def _vector(self, token: str) -> torch.Tensor:
        digest = hashlib.blake2b(f"{self.dim}:{token}".encode(), digest_size=8).digest()
        gen = torch.Generator().manual_seed(int.from_bytes(digest, "little") & (2**63 - 1))
        return torch.randn(self.dim, generator=gen) / math.sqrt(self.dim)

    def encode(self, prompt: str, max_tokens: int) -> TokenEmbeddings:
        words = tokenize_words(prompt)
        if len(words) > max_tokens:  # keep <eos>, as BERT/CLIP tokenizers keep [SEP]/EOT
            words = [*words[: max(max_tokens - 1, 1)], "<eos>"][:max_tokens]
        tokens = torch.stack([self._vector(w) for w in words])
        return TokenEmbeddings(tokens, torch.ones(len(words), dtype=torch.bool))
