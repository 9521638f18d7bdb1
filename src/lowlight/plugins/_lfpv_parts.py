"""Pieces of :mod:`lowlight.plugins.lfpv`: the query (functional core + the module kept at
inference), the updaters SU and MU (training only), and the query grid geometry."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

Update = Literal["replace", "residual"]


# --------------------------------------------------------------------------- query


def attend(queries: Tensor, keys: Tensor, values: Tensor) -> Tensor:
    """Softmax attention of every query over the ``l`` table entries.

    Args:
        queries: ``(B, N, d)`` (normalised features).
        keys: ``(l, d)`` (normalised table).
        values: ``(l, d)`` (the raw table).

    Returns:
        ``(B, N, d)``: ``softmax(queries @ keys^T, over l) @ values`` (no scaling, as the
        official code).
    """
    weights = torch.softmax(queries @ keys.t(), dim=-1)
    return weights @ values


def vector_readout(f: Tensor, table: Tensor, norm_f: nn.Module, norm_k: nn.Module) -> Tensor:
    """Query the vectors ``table (l, c)`` with every position of ``f (B, c, h, w)``;
    returns ``(B, c, h, w)``."""
    b, c, h, w = f.shape
    q = norm_f(f.flatten(2).transpose(1, 2))  # (B, hw, c)
    out = attend(q, norm_k(table), table)
    return out.transpose(1, 2).reshape(b, c, h, w)


def patch_readout(f: Tensor, table: Tensor, norm_f: nn.Module, norm_k: nn.Module, k: int) -> Tensor:
    """Query the patches ``table (l, c, k, k)`` with the ``k x k``-unshuffled ``f (B, c, h, w)``
    (``h, w`` multiples of ``k``); returns ``(B, c, h, w)``."""
    b, c, h, w = f.shape
    unshuffled = F.pixel_unshuffle(f, k)  # (B, c k k, h/k, w/k)
    q = norm_f(unshuffled.flatten(2).transpose(1, 2))  # (B, hw/k^2, c k k)
    flat = table.reshape(table.shape[0], -1)  # channel-major like pixel_unshuffle
    out = attend(q, norm_k(flat), flat)
    out = out.transpose(1, 2).reshape(b, c * k * k, h // k, w // k)
    return F.pixel_shuffle(out, k)


class LFPVTables(nn.Module):
    """The learnable feature vectors and patches and their query: what inference keeps.

    ``vectors`` ``(l, c)`` and ``patches`` ``(l, c, k, k)`` start at zero and are replaced by
    the updaters during training (no gradient: ``requires_grad=False``); the four
    LayerNorms of the query are trained by the loss. ``gated``: the readout is scaled per
    channel by ``gate (c,)``, trained by the loss and initialised to zero (not in the paper),
    so that the fused features start as the backbone's own.

    Shape:
        - Input: features ``(B, c, h, w)``, ``h`` and ``w`` multiples of ``k``.
        - Output: the readout ``(B, c, h, w)`` (add it to the features).
    """

    def __init__(self, channels: int, nodes: int = 16, patch: int = 4, gated: bool = False) -> None:
        super().__init__()
        self.patch = patch
        self.gate = nn.Parameter(torch.zeros(channels)) if gated else None
        self.vectors = nn.Parameter(torch.zeros(nodes, channels), requires_grad=False)
        self.patches = nn.Parameter(torch.zeros(nodes, channels, patch, patch), requires_grad=False)
        flat = channels * patch * patch
        self.norm_query_v = nn.LayerNorm(channels)
        self.norm_key_v = nn.LayerNorm(channels)
        self.norm_query_p = nn.LayerNorm(flat)
        self.norm_key_p = nn.LayerNorm(flat)

    def forward(
        self, f: Tensor, vectors: Tensor | None = None, patches: Tensor | None = None
    ) -> Tensor:
        """Readout of ``f`` against the stored tables, or against ``vectors`` / ``patches``
        (the freshly updated, differentiable ones during training)."""
        vectors = self.vectors if vectors is None else vectors
        patches = self.patches if patches is None else patches
        readout = vector_readout(f, vectors, self.norm_query_v, self.norm_key_v) + patch_readout(
            f, patches, self.norm_query_p, self.norm_key_p, self.patch
        )
        return readout if self.gate is None else readout * self.gate[:, None, None]

    @torch.no_grad()
    def store(self, vectors: Tensor, patches: Tensor) -> None:
        """Replace the stored tables (detached), averaged over ranks under ``torchrun``."""
        vectors, patches = vectors.detach().clone(), patches.detach().clone()
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
            for t in (vectors, patches):
                dist.all_reduce(t)
                t /= dist.get_world_size()
        self.vectors.copy_(vectors)
        self.patches.copy_(patches)


# --------------------------------------------------------------------------- updaters


def conv_stack(
    in_channels: int, channels: int, width: int, depth: int, kernel: int
) -> nn.Sequential:
    """``depth`` convolutions ``in -> width -> ... -> width -> channels -> channels``, each but
    the last followed by BatchNorm + ReLU (the official code's updater, depth 7, width 4c)."""
    if depth < 2:
        raise ValueError(f"depth must be >= 2, got {depth}")
    sizes = [in_channels] + [width] * (depth - 2) + [channels, channels]
    layers: list[nn.Module] = []
    for i in range(depth):
        layers.append(nn.Conv2d(sizes[i], sizes[i + 1], kernel, padding=kernel // 2))
        if i < depth - 1:
            layers += [nn.BatchNorm2d(sizes[i + 1]), nn.ReLU()]
    return nn.Sequential(*layers)


class LFPVUpdater(nn.Module):
    """Sample updater SU and mutual updater MU with the identity embeddings (training only).

    SU: for node ``j`` and sample ``i``, ``S(C_j (+) f_i (+) e_j)`` (channel concatenation),
    ``f_i`` the feature vector / ``k x k`` patch of sample ``i`` at one random position
    (the same for the whole batch), averaged over the batch. MU: node ``j`` with a random
    partner ``h`` (drawn per node, with replacement), ``M(C_j (+) C_h (+) e_j (+) e_h)``.
    1x1 convolutions for vectors (as ``(l, c, 1, 1)`` maps), 3x3 for patches.

    ``update="replace"`` (official code): ``C <- LN(M(LN(S(C, f)), partner))``, the new table
    replaces the old. ``update="residual"`` (the slides): ``C <- C + S(C, f) + M(C, partner)``,
    both on the old table, no normalisation.
    """

    def __init__(
        self,
        channels: int,
        nodes: int = 16,
        patch: int = 4,
        width: int = 4,
        depth: int = 7,
        update: Update = "replace",
    ) -> None:
        super().__init__()
        c, k, w = channels, patch, width * channels
        self.nodes, self.patch, self.update = nodes, patch, update
        self.embedding = nn.Embedding(nodes, c)
        self.su_vectors = conv_stack(3 * c, c, w, depth, 1)
        self.su_patches = conv_stack(3 * c, c, w, depth, 3)
        self.mu_vectors = conv_stack(4 * c, c, w, depth, 1)
        self.mu_patches = conv_stack(4 * c, c, w, depth, 3)
        if update == "replace":
            self.norm_su_v = nn.LayerNorm(c)
            self.norm_su_p = nn.LayerNorm([c, k, k])
            self.norm_mu_v = nn.LayerNorm(c)
            self.norm_mu_p = nn.LayerNorm([c, k, k])

    def forward(self, vectors: Tensor, patches: Tensor, f: Tensor) -> tuple[Tensor, Tensor]:
        """New tables from the stored ``vectors (l, c)``, ``patches (l, c, k, k)`` and the
        batch's features ``f (B, c, h, w)`` (``h, w >= k``); differentiable w.r.t. SU, MU, the
        embeddings and ``f``."""
        nodes, k = self.nodes, self.patch
        _, _, h, w = f.shape
        ids = self.embedding.weight  # (l, c)
        e = ids[:, :, None, None]
        y = int(torch.randint(0, h, (1,)))
        x = int(torch.randint(0, w, (1,)))
        top = int(torch.randint(0, h - k + 1, (1,)))
        left = int(torch.randint(0, w - k + 1, (1,)))
        sample_v = f[:, :, y : y + 1, x : x + 1]  # (B, c, 1, 1)
        sample_p = f[:, :, top : top + k, left : left + k]  # (B, c, k, k)
        delta_v = self._sample_update(self.su_vectors, vectors[:, :, None, None], sample_v, e)
        delta_p = self._sample_update(self.su_patches, patches, sample_p, e)
        partner_v = torch.randint(0, nodes, (nodes,)).to(f.device)
        partner_p = torch.randint(0, nodes, (nodes,)).to(f.device)
        if self.update == "replace":
            new_v = self.norm_su_v(delta_v[:, :, 0, 0])
            new_p = self.norm_su_p(delta_p)
            mu_v = self._mutual_update(self.mu_vectors, new_v[:, :, None, None], partner_v, e)
            mu_p = self._mutual_update(self.mu_patches, new_p, partner_p, e)
            return self.norm_mu_v(mu_v[:, :, 0, 0]), self.norm_mu_p(mu_p)
        mu_v = self._mutual_update(self.mu_vectors, vectors[:, :, None, None], partner_v, e)
        mu_p = self._mutual_update(self.mu_patches, patches, partner_p, e)
        return vectors + delta_v[:, :, 0, 0] + mu_v[:, :, 0, 0], patches + delta_p + mu_p

    @staticmethod
    def _sample_update(net: nn.Module, table: Tensor, samples: Tensor, e: Tensor) -> Tensor:
        """Mean over the batch of ``net(C_j (+) f_i (+) e_j)``: ``(l, c, s, s)``."""
        n, c, s, _ = table.shape
        b = samples.shape[0]
        size = (n, b, c, s, s)
        inputs = torch.cat(
            [
                table[:, None].expand(size),
                samples[None].expand(size),
                e[:, None].expand(size),
            ],
            dim=2,
        ).reshape(n * b, 3 * c, s, s)
        return net(inputs).reshape(size).mean(dim=1)

    @staticmethod
    def _mutual_update(net: nn.Module, table: Tensor, partner: Tensor, e: Tensor) -> Tensor:
        """``net(C_j (+) C_h (+) e_j (+) e_h)`` for each node ``j`` and its partner ``h``."""
        s = table.shape[-1]
        e = e.expand(-1, -1, s, s)
        return net(torch.cat([table, table[partner], e, e[partner]], dim=1))


# --------------------------------------------------------------------------- geometry


@dataclass(frozen=True)
class QueryGrid:
    """Pooling of backbone features to the query resolution and back.

    Attributes:
        factor: average-pooling factor (query stride / feature stride).
        patch: the patch side ``k``; the pooled grid is padded to a multiple of it.
    """

    factor: int
    patch: int

    def down(self, f: Tensor) -> Tensor:
        """``(B, c, H, W) -> (B, c, h, w)``: replicate-pad to a multiple of ``factor * patch``,
        average-pool by ``factor``."""
        m = self.factor * self.patch
        pad_h, pad_w = (-f.shape[-2]) % m, (-f.shape[-1]) % m
        if pad_h or pad_w:
            f = F.pad(f, (0, pad_w, 0, pad_h), mode="replicate")
        return F.avg_pool2d(f, self.factor) if self.factor > 1 else f

    def up(self, readout: Tensor, size: tuple[int, int]) -> Tensor:
        """``(B, c, h, w) -> (B, c, H, W)``: bilinear up-sampling by ``factor``, cropped."""
        if self.factor > 1:
            readout = F.interpolate(
                readout, scale_factor=self.factor, mode="bilinear", align_corners=False
            )
        return readout[..., : size[0], : size[1]]


__all__ = [
    "LFPVTables",
    "LFPVUpdater",
    "QueryGrid",
    "attend",
    "conv_stack",
    "patch_readout",
    "vector_readout",
]
