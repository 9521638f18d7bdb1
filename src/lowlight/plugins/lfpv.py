"""LFPV: learnable feature patches and vectors, a training-time plug-in for any backbone.

Paper: X. Xu, J. Wu, Q. Yan, J. Cui, R. Hong, B. Yu, "Learnable Feature Patches and Vectors
for Boosting Low-light Image Enhancement without External Knowledge", ICCV 2025 (official
code: github.com/xiaogang00/LFPVS_ICCV, on the SNR-Aware backbone). Parts in
:mod:`lowlight.plugins._lfpv_parts`.

Followed exactly (the official code settles what the slides leave open):

* ``l = 16`` nodes: vectors ``C_v (l, c)`` and patches ``C_p (l, c, k, k)``, ``k = 4``,
  initialised to zero; identity embeddings ``e (l, c)``;
* sample updater SU and mutual updater MU: 7 convolutions (1x1 for vectors, 3x3 for
  patches), width ``4c``, BatchNorm + ReLU after all but the last; SU sees
  ``C_j (+) f_i (+) e_j`` for every node ``j`` and every sample ``i`` of the batch, ``f_i``
  the feature vector / ``k x k`` patch at one random position (shared by the batch), and
  averages over the batch; MU sees ``C_j (+) C_h (+) e_j (+) e_h`` with a random partner
  ``h`` per node; SU then MU, each followed by a LayerNorm, and the result *replaces* the
  stored tables (``update: replace``, the default). Every sample feeds SU: the official
  code has no split into fitted and unfitted images (see "Chosen" below);
* query: LayerNorm'd flattened features against LayerNorm'd ``C_v``, softmax over the
  nodes, times ``C_v``; the same with the ``k x k``-unshuffled features and ``C_p``
  (then shuffled back); ``f'_d = f_d + readout_v + readout_p``;
* training: the decoder runs twice, on ``f_d`` and on ``f'_d`` (with the freshly updated
  tables, so the loss trains SU, MU and the embeddings); the loss is
  ``rho(out_plain, GT) + lambda * rho(out_lfpv, GT)``, ``lambda = 1``, ``rho`` the
  backbone's own objective; inference keeps ``C_v``, ``C_p`` and the query's four
  LayerNorms: ``16 c (1 + k^2)`` table values plus ``4 c (1 + k^2)`` normalisation
  parameters (17,408 + 4,352 for ``c = 64``; 4,352 + 1,088 for the small backbones' 16).

Chosen here:

* where: the backbone's encode/decode split (:mod:`lowlight.models.features`); the
  features are average-pooled to 1/4 of the input resolution (the resolution of SNR-Aware's
  encoder output, where the official code queries; ``query_stride``), the readout is
  up-sampled bilinearly and added at the features' own resolution;
* the tables hold no gradient (the code's ``require_grad=False`` is a typo for
  ``requires_grad``, so there they also get an optimiser step before being overwritten);
* MU's patch partner is embedded with its own identity (the code embeds the vector
  partner's by mistake); partners are drawn independently for vectors and patches;
* ``update: residual`` offers the slides' ``C <- C + sum_i S(...)/B + M(...)`` (the batch
  sum taken as a mean, as the code does; no LayerNorm);
* no fitted/unfitted split: the slides define ``D_n`` as the images the network has not
  fitted, but neither they nor the code give a criterion; SU's batch mean already weights
  every sample alike, and a loss threshold would be a new hyper-parameter with no
  reference, so none is offered;
* under ``torchrun`` the stored tables are averaged over ranks after each update;
* ``readout_gate`` (off by default; neither paper nor code has it): the readout is scaled
  per channel by a gate initialised to zero, so that a backbone that starts from trained
  weights starts unchanged (the LayerNorm'd tables are unit-scale from the first update
  on, which a short fine-tune of a trained MIRNet did not recover from:
  ``benchmarks/results/lfpv/compare_mixed.md``); ``+c`` parameters at inference. With it
  the gate stayed near zero and the fine-tune equalled the plain one
  (``compare_mixed_gated.md``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from torch import Tensor, nn

from lowlight.errors import ConfigError
from lowlight.layers.padding import crop_to, pad_to_multiple
from lowlight.models.base import Context, EnhancementModel, check_image_batch
from lowlight.models.features import FeatureSplit, has_feature_split
from lowlight.plugins._lfpv_parts import LFPVTables, LFPVUpdater, QueryGrid, Update
from lowlight.plugins.base import TrainingPlugin, strip
from lowlight.registry import PLUGINS

__all__ = ["LFPV", "LFPVModel", "LFPVObjective", "LFPVOptions", "inference_parameters"]

PLAIN = "lfpv_plain"
"""Key of the plain (no readout) output in the wrapper's ``forward_train`` aux dict."""


@dataclass
class LFPVOptions:
    """The ``args`` of ``plugins: [{name: lfpv, args: {...}}]``.

    Attributes:
        nodes: ``l``, vectors and patches in the tables (16).
        patch: ``k``, side of the patches (4).
        query_stride: resolution of the query relative to the input (4: 1/4); a multiple
            of the backbone's ``feature_stride``.
        update: ``replace`` (official code: LayerNorm and replace) or ``residual`` (slides).
        weight: ``lambda``, weight of the loss on the output with the readout (1).
        width: updater width as a multiple of ``c`` (4).
        depth: convolutions per updater (7).
        readout_gate: scale the readout per channel by a gate initialised to zero (False).
    """

    nodes: int = 16
    patch: int = 4
    query_stride: int = 4
    update: Update = "replace"
    weight: float = 1.0
    width: int = 4
    depth: int = 7
    readout_gate: bool = False


def inference_parameters(channels: int, options: LFPVOptions | None = None) -> int:
    """Parameters LFPV adds at inference: ``l c (1 + k^2)`` table values, the query's
    four LayerNorms, ``4 c (1 + k^2)``, and ``c`` for the readout gate if there is one."""
    o = options or LFPVOptions()
    gate = channels if o.readout_gate else 0
    return o.nodes * channels * (1 + o.patch**2) + 4 * channels * (1 + o.patch**2) + gate


def _check(backbone: nn.Module, o: LFPVOptions) -> FeatureSplit:
    if not has_feature_split(backbone):
        raise ConfigError(
            f"lfpv needs a backbone with the encode/decode split (lowlight.models.features); "
            f"{type(backbone).__name__} has none"
        )
    for name in ("nodes", "patch", "query_stride", "width"):
        if getattr(o, name) < 1:
            raise ConfigError(f"lfpv {name} must be >= 1, got {getattr(o, name)}")
    if o.depth < 2:
        raise ConfigError(f"lfpv depth must be >= 2, got {o.depth}")
    if o.weight < 0:
        raise ConfigError(f"lfpv weight must be >= 0, got {o.weight}")
    stride = backbone.feature_stride  # type: ignore[attr-defined]
    if o.query_stride % stride:
        raise ConfigError(
            f"lfpv query_stride {o.query_stride} must be a multiple of the backbone's "
            f"feature_stride {stride}"
        )
    return backbone  # type: ignore[return-value]


def _fuse(tables: LFPVTables, grid: QueryGrid, f: Tensor, **fresh: Tensor) -> Tensor:
    """``f + up(readout(down(f)))`` for features ``(B, c, H, W)``."""
    return f + grid.up(tables(grid.down(f), **fresh), (f.shape[-2], f.shape[-1]))


class LFPVModel(EnhancementModel):
    """The stripped (inference) model: backbone + tables + query.

    State-dict keys: ``backbone.*`` (the backbone's own) and ``lfpv.*`` (the tables and the
    query's LayerNorms).

    Shape:
        - Input: ``(B, 3, H, W)`` in ``[0, 1]``, any ``H`` and ``W``.
        - Output: ``(B, 3, H, W)`` in ``[0, 1]``.
    """

    def __init__(self, backbone: EnhancementModel, tables: LFPVTables, grid: QueryGrid) -> None:
        super().__init__()
        self.backbone = backbone
        self.lfpv = tables
        self.grid = grid
        self.pad_multiple = backbone.pad_multiple
        self.tileable = backbone.tileable

    def enhance_tensor(self, x: Tensor, context: Context | None = None) -> Tensor:
        split: Any = self.backbone
        encoded = split.encode(x)
        return split.decode(encoded, _fuse(self.lfpv, self.grid, encoded.features))


@PLUGINS.register(
    "lfpv",
    paper="Xu et al., Learnable Feature Patches and Vectors for Boosting Low-light Image "
    "Enhancement without External Knowledge, ICCV 2025",
    summary="16 learnable feature vectors and 4x4 patches queried at 1/4 resolution; "
    "updaters SU/MU only in training",
)
class LFPV(TrainingPlugin):
    """The training wrapper (see the module docstring).

    State-dict keys: ``backbone.*``, ``lfpv.*`` (kept at inference) and ``updater.*`` (SU,
    MU, identity embeddings; training only).
    """

    Options = LFPVOptions

    def __init__(self, backbone: EnhancementModel, options: LFPVOptions | None = None) -> None:
        super().__init__()
        o = options or LFPVOptions()
        split = _check(backbone, o)
        c = split.feature_channels
        self.options = o
        self.backbone = backbone
        self.lfpv = LFPVTables(c, o.nodes, o.patch, o.readout_gate)
        self.updater = LFPVUpdater(c, o.nodes, o.patch, o.width, o.depth, o.update)
        self.grid = QueryGrid(o.query_stride // split.feature_stride, o.patch)

    def forward_train(self, x: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        """The output with the readout ``(B, 3, H, W)`` and ``{"lfpv_plain": output without}``;
        updates the stored tables (training mode only)."""
        check_image_batch(x)
        split: Any = self.backbone
        padded, size = pad_to_multiple(x, self.backbone.pad_multiple)
        encoded = split.encode(padded)
        f = encoded.features
        plain = split.decode(encoded, f)
        vectors, patches = self.updater(self.lfpv.vectors, self.lfpv.patches, self.grid.down(f))
        out = split.decode(
            encoded, _fuse(self.lfpv, self.grid, f, vectors=vectors, patches=patches)
        )
        if self.training:
            self.lfpv.store(vectors, patches)
        out, plain = crop_to(out, size), crop_to(plain, size)
        if split.clamps_in_training:
            out, plain = out.clamp(0.0, 1.0), plain.clamp(0.0, 1.0)
        return out, {PLAIN: plain}

    def stripped(self) -> LFPVModel:
        return LFPVModel(strip(self.backbone), self.lfpv, self.grid)  # type: ignore[arg-type]

    @classmethod
    def inference(cls, backbone: EnhancementModel, options: LFPVOptions) -> LFPVModel:
        split = _check(backbone, options)
        tables = LFPVTables(
            split.feature_channels, options.nodes, options.patch, options.readout_gate
        )
        grid = QueryGrid(options.query_stride // split.feature_stride, options.patch)
        return LFPVModel(backbone, tables, grid)

    def wrap_objective(self, objective: Any) -> LFPVObjective:
        return LFPVObjective(objective, self.options.weight)

    def describe(self) -> list[str]:
        o = self.options
        c = self.lfpv.vectors.shape[1]
        training = sum(p.numel() for p in self.updater.parameters())
        return [
            f"lfpv: {o.nodes} vectors and {o.patch}x{o.patch} patches of {c} channels, "
            f"queried at 1/{o.query_stride} resolution, update '{o.update}', lambda {o.weight:g}"
            + (", readout gated (zero at start)" if o.readout_gate else ""),
            f"lfpv: +{inference_parameters(c, o):,} parameters at inference, "
            f"+{training:,} in training only (SU, MU, embeddings)",
        ]


class _Output:
    """A stand-in model whose ``forward_train`` returns a precomputed output, so that the
    backbone's objective scores each of the wrapper's two outputs unchanged."""

    def __init__(self, model: nn.Module, output: Tensor, aux: Mapping[str, Tensor]) -> None:
        self._model, self._output, self._aux = model, output, dict(aux)

    def forward_train(self, x: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        return self._output, dict(self._aux)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)


class LFPVObjective:
    """``rho(out_plain, GT) + weight * rho(out_lfpv, GT)`` with ``rho`` the given objective.

    Logs: the objective's terms of the LFPV output, and ``plain_loss`` / ``lfpv_loss``.
    """

    def __init__(self, objective: Any, weight: float = 1.0) -> None:
        self.objective = objective
        self.weight = weight

    def __call__(self, model: Any, batch: Mapping[str, Any]) -> tuple[Tensor, dict[str, Tensor]]:
        out, aux = model.forward_train(batch["input"])
        aux = dict(aux)
        plain = aux.pop(PLAIN)
        backbone = getattr(model, "backbone", model)
        loss_plain, _ = self.objective(_Output(backbone, plain, aux), batch)
        loss_lfpv, logs = self.objective(_Output(backbone, out, aux), batch)
        logs = {**logs, "plain_loss": loss_plain.detach(), "lfpv_loss": loss_lfpv.detach()}
        return loss_plain + self.weight * loss_lfpv, logs

    def describe(self) -> list[str]:
        inner = getattr(self.objective, "describe", None)
        lines = list(inner()) if callable(inner) else []
        return [*lines, f"lfpv: loss = rho(plain) + {self.weight:g} * rho(with readout)"]
