"""PromptEmbedding: pending until first use, fixed-shape buffers, byte storage limits."""

from __future__ import annotations

import pytest
import torch

from lowlight.errors import ConfigError
from lowlight.text.hashing import HashTextEncoder
from lowlight.text.prompt import PROMPT_BYTES, PromptEmbedding


def test_buffers_have_fixed_shapes_and_trim_padding():
    emb = PromptEmbedding("dark image", "hash", dim=8, max_tokens=10)
    shapes = {k: tuple(v.shape) for k, v in emb.state_dict().items()}
    assert shapes["tokens"] == (1, 10, 8) and shapes["mask"] == (1, 10)
    assert not emb.is_ready() and emb.prompt == "dark image"
    emb.set("dark image", HashTextEncoder(dim=8))
    tokens, mask = emb.context(3, torch.float32)
    assert tokens.shape == (3, 4, 8) and mask.shape == (3, 4) and mask.all()  # 4 real tokens
    assert emb.is_ready() and emb.prompt == "dark image"
    assert not emb.mask[0, 4:].any() and not emb.tokens[0, 4:].any()


def test_state_dict_round_trip_restores_text_and_length():
    a = PromptEmbedding("a bright, clear photo", "hash", dim=8)
    a.set("a bright, clear photo", HashTextEncoder(dim=8))
    b = PromptEmbedding("a bright, clear photo", "hash", dim=8)
    b.load_state_dict(a.state_dict())
    assert b.prompt == "a bright, clear photo" and b.is_ready()
    ta, ma = a.context(1, torch.float32)
    tb, mb = b.context(1, torch.float32)
    assert torch.equal(ta, tb) and torch.equal(ma, mb)


def test_unicode_prompt_and_limits():
    emb = PromptEmbedding("photo", "hash", dim=4)
    emb.set("lumière naturelle ☀", HashTextEncoder(dim=4))
    assert emb.prompt == "lumière naturelle ☀"
    with pytest.raises(ConfigError, match="at most"):
        PromptEmbedding("x" * (PROMPT_BYTES + 1), "hash", dim=4)
    with pytest.raises(ConfigError, match="NUL"):
        emb.set("a\x00b", HashTextEncoder(dim=4))
    with pytest.raises(ConfigError):
        PromptEmbedding("photo", "hash", dim=4, max_tokens=1)
