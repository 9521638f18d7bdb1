"""Blocks of NaLSuper (arXiv 2501.06546): text cross-attention (TCM), channel and pixel
attention (IFA), the residual textual-guide fusion block (RTFB) and layer attention.

See :mod:`lowlight.models.nalsuper` for what follows the paper and what is chosen.
Every block works per sample, so a batch gives the same result as its images one by one.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lowlight.errors import ConfigError

__all__ = [
    "ChannelAttention",
    "LayerAttention",
    "PixelAttention",
    "ResidualTextFusionBlock",
    "TextCrossAttention",
    "attention_from_energy",
    "chunked_cross_attention",
    "fuse_attended_layers",
]


def chunked_cross_attention(
    q: Tensor, k: Tensor, v: Tensor, mask: Tensor, chunk: int | None = None
) -> Tensor:
    """``softmax(q k^T / sqrt(d)) v`` over the unmasked keys, ``chunk`` queries at a time.

    Each query row is computed independently, so chunking changes peak memory
    (``O(chunk * T)`` per head instead of ``O(N * T)``), not the result.

    Args:
        q: queries ``(B, h, N, d)``.
        k, v: keys and values ``(B, h, T, d)``.
        mask: ``(B, T)`` bool, ``True`` = attend; every row needs one ``True``.
        chunk: queries per chunk; ``None`` = all at once.

    Returns:
        ``(B, h, N, d)``.
    """
    attn_mask = mask[:, None, None, :]
    n = q.shape[2]
    if chunk is None or chunk >= n:
        return F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask)
    parts = [
        F.scaled_dot_product_attention(q[:, :, i : i + chunk], k, v, attn_mask=attn_mask)
        for i in range(0, n, chunk)
    ]
    return torch.cat(parts, dim=2)


class TextCrossAttention(nn.Module):
    """TCM: image features attend to text tokens; ``x + W_o Attn(W_q LN(x), W_k LN(t), W_v LN(t))``.

    Args:
        channels: image feature channels ``C`` (also the attention width).
        text_dim: token embedding size ``D``.
        heads: attention heads (``C`` must divide by it).
        grid: compute attention on an average-pooled grid of at most ``grid x grid``
            queries and upsample the result bilinearly; ``None`` = every pixel is a query.
        chunk: queries per attention chunk (bounds memory); ``None`` = unchunked.

    Shape:
        - ``x``: ``(B, C, H, W)``; ``tokens``: ``(B, T, D)``; ``mask``: ``(B, T)`` bool.
        - Output: ``(B, C, H, W)``.
    """

    def __init__(
        self,
        channels: int,
        text_dim: int,
        heads: int = 4,
        grid: int | None = None,
        chunk: int | None = 4096,
    ) -> None:
        super().__init__()
        if heads < 1 or channels % heads:
            raise ConfigError(f"channels ({channels}) must be divisible by heads ({heads})")
        if grid is not None and grid < 1:
            raise ConfigError(f"attention_grid must be >= 1 or None, got {grid}")
        if chunk is not None and chunk < 1:
            raise ConfigError(f"query_chunk must be >= 1 or None, got {chunk}")
        self.heads = heads
        self.grid = grid
        self.chunk = chunk
        self.norm_x = nn.LayerNorm(channels)
        self.norm_t = nn.LayerNorm(text_dim)
        self.to_q = nn.Linear(channels, channels, bias=False)
        self.to_k = nn.Linear(text_dim, channels, bias=False)
        self.to_v = nn.Linear(text_dim, channels, bias=False)
        self.to_out = nn.Linear(channels, channels)

    def attend(self, x: Tensor, tokens: Tensor, mask: Tensor) -> Tensor:
        """The attention output ``(B, C, H, W)`` at the resolution of ``x`` (no residual)."""
        b, c, h, w = x.shape
        heads = self.heads
        q = self.to_q(self.norm_x(x.flatten(2).transpose(1, 2)))  # (B, N, C)
        t = self.norm_t(tokens)
        k, v = self.to_k(t), self.to_v(t)  # (B, T, C)

        def split(z: Tensor) -> Tensor:  # (B, L, C) -> (B, heads, L, C / heads)
            return z.unflatten(-1, (heads, c // heads)).transpose(1, 2)

        out = chunked_cross_attention(split(q), split(k), split(v), mask, self.chunk)
        out = self.to_out(out.transpose(1, 2).flatten(2))  # (B, N, C)
        return out.transpose(1, 2).unflatten(-1, (h, w))

    def forward(self, x: Tensor, tokens: Tensor, mask: Tensor) -> Tensor:
        h, w = x.shape[-2:]
        if self.grid is not None and (h > self.grid or w > self.grid):
            pooled = F.adaptive_avg_pool2d(x, (min(h, self.grid), min(w, self.grid)))
            out = self.attend(pooled, tokens, mask)
            out = F.interpolate(out, size=(h, w), mode="bilinear", align_corners=False)
        else:
            out = self.attend(x, tokens, mask)
        return x + out

    def extra_repr(self) -> str:
        return f"heads={self.heads}, grid={self.grid}, chunk={self.chunk}"


class ChannelAttention(nn.Module):
    """Channel attention (RCAN / FFA-Net): ``x * sigmoid(W2 relu(W1 avgpool(x)))``.

    Shape: ``(B, C, H, W) -> (B, C, H, W)``.
    """

    def __init__(self, channels: int, reduction: int = 8) -> None:
        super().__init__()
        hidden = max(1, channels // reduction)
        self.body = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Conv2d(channels, hidden, 1),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, channels, 1),
            nn.Sigmoid(),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x * self.body(x)


class PixelAttention(nn.Module):
    """Pixel attention (FFA-Net): ``x * sigmoid(W2 relu(W1 x))`` with a ``(B, 1, H, W)`` map,
    so unevenly lit regions are weighted differently.

    Shape: ``(B, C, H, W) -> (B, C, H, W)``.
    """

    def __init__(self, channels: int, reduction: int = 8) -> None:
        super().__init__()
        hidden = max(1, channels // reduction)
        self.body = nn.Sequential(
            nn.Conv2d(channels, hidden, 1),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, 1, 1),
            nn.Sigmoid(),
        )

    def attention_map(self, x: Tensor) -> Tensor:
        """The ``(B, 1, H, W)`` map in ``(0, 1)``."""
        return self.body(x)

    def forward(self, x: Tensor) -> Tensor:
        return x * self.body(x)


class ResidualTextFusionBlock(nn.Module):
    """RTFB: TCM, then an FFA-style residual body with channel and pixel attention.

    ``t = TCM(x, text)`` (or ``t = x`` without text); ``r = conv(relu(conv(t)) + t)``;
    ``r = PA(CA(r))``; output ``x + r``.

    Args:
        channels: feature channels ``C``.
        text_dim: token size ``D``, or ``None`` for a block without a text path.
        heads, grid, chunk: see :class:`TextCrossAttention`.
        reduction: channel and pixel attention reduction.

    Shape:
        - ``x``: ``(B, C, H, W)``; ``tokens``: ``(B, T, D)``; ``mask``: ``(B, T)``.
        - Output: ``(B, C, H, W)``.
    """

    def __init__(
        self,
        channels: int,
        text_dim: int | None,
        heads: int = 4,
        grid: int | None = None,
        chunk: int | None = 4096,
        reduction: int = 8,
    ) -> None:
        super().__init__()
        self.tcm = (
            TextCrossAttention(channels, text_dim, heads, grid, chunk)
            if text_dim is not None
            else None
        )
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.act = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)
        self.ca = ChannelAttention(channels, reduction)
        self.pa = PixelAttention(channels, reduction)

    def forward(
        self, x: Tensor, tokens: Tensor | None = None, mask: Tensor | None = None
    ) -> Tensor:
        t = x
        if self.tcm is not None:
            if tokens is None or mask is None:
                raise ValueError("this block has a text path: pass tokens and mask")
            t = self.tcm(x, tokens, mask)
        r = self.conv2(self.act(self.conv1(t)) + t)
        return x + self.pa(self.ca(r))


class LayerAttention(nn.Module):
    """Cross-layer attention over the outputs of ``N`` blocks (HAN's layer attention module).

    With ``F`` the ``(B, N, C*H*W)`` stacked features, ``E = F F^T / (C*H*W)`` (the
    mean product of two layers' features, so the weights do not depend on the image size),
    ``A = softmax(rowmax(E) - E)`` (HAN's and DANet's form: each layer draws more on the
    layers it resembles least), output ``F + gamma * A F`` with ``gamma`` learned, from 0.

    Shape: ``(B, N, C, H, W) -> (B, N, C, H, W)``.
    """

    def __init__(self) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.zeros(1))

    def weights(self, stacked: Tensor) -> Tensor:
        """The ``(B, N, N)`` layer attention (in ``stacked``'s dtype).

        The ``C*H*W``-long dot products are summed in float32 whatever the input dtype: in
        float16 they exceed 65504 at a few hundred thousand pixels (inf, then NaN).
        """
        flat = stacked.flatten(2)
        wide = flat.float()
        energy = wide @ wide.transpose(1, 2) / flat.shape[-1]
        return attention_from_energy(energy).to(stacked.dtype)

    def forward(self, stacked: Tensor) -> Tensor:
        flat = stacked.flatten(2)
        mixed = (self.weights(stacked) @ flat).view_as(stacked)
        return stacked + self.gamma * mixed


def attention_from_energy(energy: Tensor) -> Tensor:
    """``softmax(rowmax(E) - E)`` of the ``(B, N, N)`` mean products ``E`` (HAN's form)."""
    energy = energy.amax(dim=-1, keepdim=True) - energy
    return energy.softmax(dim=-1)


def fuse_attended_layers(feats: list[Tensor], attention: LayerAttention, fuse: nn.Conv2d) -> Tensor:
    """``fuse(attention(stack(feats)).flatten(1, 2))`` without stacking the layers.

    The layer attention mixes the ``N`` layers linearly and ``fuse`` is a 1x1 convolution,
    so together they are one 1x1 convolution per layer with per-image weights
    ``W'_j = W_j + gamma * sum_i A[i, j] W_i`` (``W_i``: the slice of ``fuse`` that reads
    layer ``i``). The peak memory then holds the ``N`` block outputs and one accumulator
    instead of three more ``(B, N, C, H, W)`` tensors (the stack, the mixture and their
    sum: about 1.1 GB at 1 MP for ``nalsuper_small``). Equal to the stacked form up to
    float rounding (tested); used at inference, while training keeps the stacked form.

    Shapes: ``N x (B, C, H, W) -> (B, O, H, W)``.
    """
    n, numel = len(feats), feats[0][0].numel()
    flat = [f.flatten(1) for f in feats]
    energy = flat[0].new_empty(flat[0].shape[0], n, n, dtype=torch.float32)
    for i in range(n):  # dot products as (B, 1, L) @ (B, L, 1): no L-long product tensor
        for j in range(i, n):
            dot = (flat[i].float().unsqueeze(1) @ flat[j].float().unsqueeze(2)).view(-1)
            energy[:, i, j] = energy[:, j, i] = dot / numel
    a = attention_from_energy(energy).to(feats[0].dtype)  # (B, N, N)
    w = fuse.weight.view(fuse.out_channels, n, -1)  # (O, N, C)
    per_image = w + attention.gamma * torch.einsum("bij,oic->bojc", a, w)  # (B, O, N, C)
    out = torch.einsum("boc,bchw->bohw", per_image[:, :, 0], feats[0])
    for j in range(1, n):
        out = out + torch.einsum("boc,bchw->bohw", per_image[:, :, j], feats[j])
    return out if fuse.bias is None else out + fuse.bias.view(1, -1, 1, 1)
