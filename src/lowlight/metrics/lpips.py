"""LPIPS with the AlexNet backbone, version 0.1, in plain torch.

R. Zhang, P. Isola, A. A. Efros, E. Shechtman, O. Wang, "The Unreasonable Effectiveness
of Deep Features as a Perceptual Metric", CVPR 2018, arXiv:1801.03924.

Follows the official ``lpips`` package (``LPIPS(net='alex', version='0.1')``) exactly:
inputs in [0, 1] are mapped to [-1, 1], shifted and scaled by the ScalingLayer constants,
passed through torchvision's AlexNet ``features`` (conv1..conv5 with ReLUs); the five
taps relu1..relu5 are unit-normalised along channels (eps 1e-10), their squared
differences weighted by the learnt 1x1 heads ``lin0..lin4``, averaged over space and
summed. Weights: torchvision's ImageNet AlexNet (``alexnet-owt-7be5be79.pth``, keys
``features.{0,3,6,8,10}.{weight,bias}``) and the official v0.1 heads (``alex.pth``, keys
``lin{0..4}.model.1.weight``). Choice: the heads' ``Dropout`` (index 0 of each
``model``, active only while the heads were trained) is an ``Identity`` here, so LPIPS
used as a loss inside a module in train mode stays deterministic.

Weight lookup (:func:`resolve_lpips_weights`): explicit paths, then
``$LOWLIGHT_LPIPS_ALEXNET`` / ``$LOWLIGHT_LPIPS_LIN``, then (heads only) the ``alex.pth``
shipped by an installed ``lpips`` package (found without importing it), then the cache
``$LOWLIGHT_CACHE/lpips`` (default ``~/.cache/lowlight/lpips``), then a download of the
official files into that cache, checked against their sha256.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor, nn

from lowlight.errors import WeightsError
from lowlight.metrics.convert import MetricInputError
from lowlight.weights import load_state_dict, sha256_file

ALEXNET_ENV = "LOWLIGHT_LPIPS_ALEXNET"
LIN_ENV = "LOWLIGHT_LPIPS_LIN"
CACHE_ENV = "LOWLIGHT_CACHE"

CHANNELS = (64, 192, 384, 256, 256)
MIN_SIZE = 31  # smallest side for which AlexNet's relu5 map is non-empty
_SHIFT = (-0.030, -0.088, -0.188)
_SCALE = (0.458, 0.448, 0.450)


@dataclass(frozen=True)
class _RemoteFile:
    name: str
    url: str
    sha256: str  # full digest, or a prefix (torchvision names files by theirs)
    what: str


ALEXNET_FILE = _RemoteFile(
    "alexnet-owt-7be5be79.pth",
    "https://download.pytorch.org/models/alexnet-owt-7be5be79.pth",
    "7be5be79",
    "torchvision's ImageNet AlexNet weights",
)
LIN_FILE = _RemoteFile(
    "alex.pth",
    "https://github.com/richzhang/PerceptualSimilarity/raw/master/lpips/weights/v0.1/alex.pth",
    "df73285e35b22355a2df87cdb6b70b343713b667eddbda73e1977e0c860835c0",
    "the LPIPS v0.1 linear heads for AlexNet",
)
ALEXNET_KEYS = tuple(f"features.{i}.{p}" for i in (0, 3, 6, 8, 10) for p in ("weight", "bias"))
LIN_KEYS = tuple(f"lin{k}.model.1.weight" for k in range(5))


# --------------------------------------------------------------------------- network
class _LinearHead(nn.Module):
    """A 1x1 convolution to one channel, without bias; the key layout of ``lpips.NetLinLayer``."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.model = nn.Sequential(nn.Identity(), nn.Conv2d(channels, 1, 1, bias=False))

    def forward(self, x: Tensor) -> Tensor:
        return self.model(x)


def _alexnet_features() -> nn.Sequential:
    """torchvision's ``alexnet().features[:12]`` (conv1 .. relu5), same indices."""
    return nn.Sequential(
        nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2),
        nn.ReLU(inplace=False),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(64, 192, kernel_size=5, padding=2),
        nn.ReLU(inplace=False),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(192, 384, kernel_size=3, padding=1),
        nn.ReLU(inplace=False),
        nn.Conv2d(384, 256, kernel_size=3, padding=1),
        nn.ReLU(inplace=False),
        nn.Conv2d(256, 256, kernel_size=3, padding=1),
        nn.ReLU(inplace=False),
    )


_TAPS = (1, 4, 7, 9, 11)  # relu1 .. relu5


def _unit_normalize(x: Tensor, eps: float = 1e-10) -> Tensor:
    return x / (torch.sqrt(torch.sum(x * x, dim=1, keepdim=True)) + eps)


class LPIPS(nn.Module):
    """LPIPS distance (AlexNet, v0.1); higher means more different.

    Build it with :func:`load_lpips` for the official weights; a bare ``LPIPS()`` has
    random weights. Parameters are frozen; gradients flow to the inputs.

    Shape:
        x, y: ``(B, 3, H, W)`` RGB in [0, 1], H and W >= 31. Output: ``(B,)``.
    """

    def __init__(self) -> None:
        super().__init__()
        self.features = _alexnet_features()
        for k, channels in enumerate(CHANNELS):
            self.add_module(f"lin{k}", _LinearHead(channels))
        self.register_buffer("shift", torch.tensor(_SHIFT).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("scale", torch.tensor(_SCALE).view(1, 3, 1, 1), persistent=False)
        self.requires_grad_(False)
        self.eval()

    def taps(self, x: Tensor) -> list[Tensor]:
        """relu1..relu5 activations of an input already in the network's scaled space."""
        out = []
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in _TAPS:
                out.append(x)
        return out

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        if x.shape != y.shape or x.dim() != 4 or x.shape[1] != 3:
            raise MetricInputError(
                f"LPIPS needs two (B, 3, H, W) tensors of one shape, got {tuple(x.shape)} and {tuple(y.shape)}"
            )
        if min(x.shape[-2:]) < MIN_SIZE:
            raise MetricInputError(
                f"LPIPS (AlexNet) needs H, W >= {MIN_SIZE}, got {tuple(x.shape[-2:])}"
            )
        dtype = self.shift.dtype
        both = torch.cat([x, y], dim=0).to(dtype)
        both = ((2 * both - 1) - self.shift) / self.scale
        total = torch.zeros(x.shape[0], dtype=dtype, device=x.device)
        for k, feat in enumerate(self.taps(both)):
            fx, fy = _unit_normalize(feat).chunk(2, dim=0)
            head = getattr(self, f"lin{k}")
            total = total + head((fx - fy) ** 2).mean(dim=(1, 2, 3))
        return total


# --------------------------------------------------------------------------- weights
def cache_dir() -> Path:
    """``$LOWLIGHT_CACHE/lpips`` or ``~/.cache/lowlight/lpips`` (not created here)."""
    root = os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "lowlight"
    return Path(root) / "lpips"


def _lpips_package_heads() -> Path | None:
    """``alex.pth`` (v0.1) inside an installed ``lpips`` package, found without importing it."""
    spec = importlib.util.find_spec("lpips")
    if spec is None or not spec.submodule_search_locations:
        return None
    for root in spec.submodule_search_locations:
        path = Path(root) / "weights" / "v0.1" / "alex.pth"
        if path.is_file():
            return path
    return None


def _hash_ok(path: Path, remote: _RemoteFile) -> bool:
    return sha256_file(path).startswith(remote.sha256)


def _download(remote: _RemoteFile, dest: Path) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    try:
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(remote.url, timeout=60) as resp:
            while block := resp.read(1 << 20):
                digest.update(block)
                out.write(block)
        if not digest.hexdigest().startswith(remote.sha256):
            raise WeightsError(
                f"downloaded {remote.url} but its sha256 {digest.hexdigest()} does not match "
                f"the expected {remote.sha256}; refusing to use it"
            )
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return dest


def _missing_message(missing: list[_RemoteFile], reason: str) -> str:
    where = cache_dir()
    lines = [f"LPIPS weights are not available ({reason}). Download:"]
    for remote in missing:
        lines.append(f"  - {remote.what}: {remote.url}")
    lines.append(
        f"and put them in {where}/ (keeping the file names), or pass alexnet_path=/lin_path=, "
        f"or set {ALEXNET_ENV} / {LIN_ENV} to the files."
    )
    if LIN_FILE in missing:
        lines.append("The heads also ship with the lpips package: pip install lpips.")
    return "\n".join(lines)


def resolve_lpips_weights(
    alexnet_path: str | Path | None = None,
    lin_path: str | Path | None = None,
    *,
    allow_download: bool = True,
) -> tuple[Path, Path]:
    """Local paths of the AlexNet and head weights, downloading them into the cache if allowed.

    Raises:
        WeightsError: a file is missing and cannot (or may not) be downloaded; the
            message says what to download and where to put it.
    """
    found: dict[str, Path | None] = {}
    for key, explicit, env, remote in (
        ("alexnet", alexnet_path, ALEXNET_ENV, ALEXNET_FILE),
        ("lin", lin_path, LIN_ENV, LIN_FILE),
    ):
        chosen = explicit or os.environ.get(env)
        if chosen is not None:
            path = Path(chosen)
            if not path.is_file():
                raise WeightsError(f"LPIPS {remote.what} not found at {path}")
            found[key] = path
            continue
        candidates = [_lpips_package_heads()] if key == "lin" else []
        candidates.append(cache_dir() / remote.name)
        found[key] = next((p for p in candidates if p is not None and p.is_file()), None)
        if found[key] is not None and not _hash_ok(found[key], remote):
            raise WeightsError(
                f"{found[key]} does not have the sha256 of {remote.what} ({remote.sha256}...); "
                "delete it so that it can be fetched again"
            )
    remotes = {"alexnet": ALEXNET_FILE, "lin": LIN_FILE}
    missing = [remotes[k] for k, p in found.items() if p is None]
    if missing and not allow_download:
        raise WeightsError(_missing_message(missing, "downloads disabled"))
    for key, remote in remotes.items():
        if found[key] is None:
            try:
                found[key] = _download(remote, cache_dir() / remote.name)
            except (urllib.error.URLError, OSError) as exc:
                raise WeightsError(_missing_message(missing, f"download failed: {exc}")) from exc
    return found["alexnet"], found["lin"]  # type: ignore[return-value]


def _pick(state: dict[str, Tensor], keys: tuple[str, ...], path: Path) -> dict[str, Tensor]:
    absent = [k for k in keys if k not in state]
    if absent:
        raise WeightsError(f"{path} lacks the LPIPS keys {absent}; is it the right file?")
    return {k: state[k] for k in keys}


def load_lpips(
    alexnet_path: str | Path | None = None,
    lin_path: str | Path | None = None,
    *,
    allow_download: bool = True,
    device: str | torch.device = "cpu",
) -> LPIPS:
    """LPIPS (AlexNet, v0.1) with the official weights, frozen, in eval mode.

    Args:
        alexnet_path: torchvision AlexNet state dict (``features.*`` keys are used).
        lin_path: the v0.1 ``alex.pth`` heads.
        allow_download: fetch missing files from the official URLs into the cache.
        device: where to put the model.
    """
    alex, lin = resolve_lpips_weights(alexnet_path, lin_path, allow_download=allow_download)
    state = _pick(load_state_dict(alex), ALEXNET_KEYS, alex)
    state.update(_pick(load_state_dict(lin), LIN_KEYS, lin))
    model = LPIPS()
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise WeightsError(
            f"LPIPS weights from {alex} and {lin} do not fit AlexNet: {exc}"
        ) from exc
    return model.to(device)
