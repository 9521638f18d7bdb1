"""LPIPS (AlexNet v0.1): structure, weight-file loading with random weights, offline errors.

No test downloads anything: files are random tensors saved in the official key layout.
"""

from __future__ import annotations

import urllib.error
from pathlib import Path

import pytest
import torch

import lowlight.metrics.lpips as lp
from lowlight.errors import LowlightError, WeightsError
from lowlight.metrics.convert import MetricInputError


def _alexnet_state() -> dict[str, torch.Tensor]:
    """A torchvision-shaped AlexNet state dict (features and classifier) with random values."""
    shapes = {
        0: ((64, 3, 11, 11), 64),
        3: ((192, 64, 5, 5), 192),
        6: ((384, 192, 3, 3), 384),
        8: ((256, 384, 3, 3), 256),
        10: ((256, 256, 3, 3), 256),
    }
    state = {}
    for i, (w, b) in shapes.items():
        state[f"features.{i}.weight"] = torch.randn(w) * 0.05
        state[f"features.{i}.bias"] = torch.randn(b) * 0.01
    state["classifier.1.weight"] = torch.randn(8, 9216)
    state["classifier.1.bias"] = torch.randn(8)
    return state


def _lin_state() -> dict[str, torch.Tensor]:
    return {f"lin{k}.model.1.weight": torch.rand(1, c, 1, 1) for k, c in enumerate(lp.CHANNELS)}


@pytest.fixture
def weight_files(tmp_path: Path) -> tuple[Path, Path]:
    alex, lin = tmp_path / "alexnet.pth", tmp_path / "alex.pth"
    torch.save(_alexnet_state(), alex)
    torch.save(_lin_state(), lin)
    return alex, lin


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No env paths, an empty cache, no lpips package and no network."""
    cache = tmp_path / "cache"
    monkeypatch.setenv(lp.CACHE_ENV, str(cache))
    monkeypatch.delenv(lp.ALEXNET_ENV, raising=False)
    monkeypatch.delenv(lp.LIN_ENV, raising=False)
    monkeypatch.setattr(lp, "_lpips_package_heads", lambda: None)

    def no_network(*args, **kwargs):
        raise urllib.error.URLError("network unreachable (test)")

    monkeypatch.setattr(lp.urllib.request, "urlopen", no_network)
    return cache / "lpips"


def _model() -> lp.LPIPS:
    """Random backbone, non-negative heads (as the trained heads are)."""
    model = lp.LPIPS()
    model.load_state_dict({**model.state_dict(), **_lin_state()})
    return model


class TestStructure:
    def test_state_dict_keys(self):
        keys = set(lp.LPIPS().state_dict())
        assert keys == set(lp.ALEXNET_KEYS) | set(lp.LIN_KEYS)

    def test_taps_channels(self):
        feats = _model().taps(torch.rand(1, 3, 64, 64))
        assert [f.shape[1] for f in feats] == list(lp.CHANNELS)

    def test_frozen_and_eval(self):
        model = _model()
        assert not model.training
        assert not any(p.requires_grad for p in model.parameters())

    def test_output_shape_identical_symmetric(self):
        model = _model()
        x, y = torch.rand(2, 3, 48, 40), torch.rand(2, 3, 48, 40)
        d = model(x, y)
        assert d.shape == (2,)
        assert torch.all(d > 0)
        assert torch.allclose(model(x, x), torch.zeros(2))
        assert torch.allclose(d, model(y, x))

    def test_batch_equals_single(self):
        model = _model()
        x, y = torch.rand(3, 3, 40, 40), torch.rand(3, 3, 40, 40)
        single = torch.cat([model(x[i : i + 1], y[i : i + 1]) for i in range(3)])
        assert torch.allclose(model(x, y), single, atol=1e-6)

    def test_gradient_reaches_input(self):
        model = _model()
        x = torch.rand(1, 3, 40, 40, requires_grad=True)
        model(x, torch.rand(1, 3, 40, 40)).sum().backward()
        assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0

    def test_hand_computed_scaling_and_heads(self):
        # The whole pipeline written out: scaling layer, unit-normalised taps, heads, mean, sum.
        model = _model()
        x, y = torch.rand(1, 3, 35, 35), torch.rand(1, 3, 35, 35)
        shift = torch.tensor([-0.030, -0.088, -0.188]).view(1, 3, 1, 1)
        scale = torch.tensor([0.458, 0.448, 0.450]).view(1, 3, 1, 1)
        total = 0
        fx_all = model.taps(((2 * x - 1) - shift) / scale)
        fy_all = model.taps(((2 * y - 1) - shift) / scale)
        for k, (fx, fy) in enumerate(zip(fx_all, fy_all, strict=True)):
            fx = fx / (fx.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)
            fy = fy / (fy.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)
            w = getattr(model, f"lin{k}").model[1].weight.view(1, -1, 1, 1)
            total = total + ((fx - fy) ** 2 * w).sum(1).mean()
        assert float(model(x, y)) == pytest.approx(float(total), rel=1e-5)

    def test_input_errors(self):
        model = _model()
        with pytest.raises(MetricInputError, match="31"):
            model(torch.rand(1, 3, 30, 64), torch.rand(1, 3, 30, 64))
        with pytest.raises(MetricInputError):
            model(torch.rand(1, 3, 40, 40), torch.rand(1, 3, 40, 41))


class TestLoading:
    def test_explicit_paths(self, weight_files, offline):
        alex, lin = weight_files
        model = lp.load_lpips(alex, lin, allow_download=False)
        expected = torch.load(alex, weights_only=True)["features.3.weight"]
        assert torch.equal(model.features[3].weight, expected)
        heads = torch.load(lin, weights_only=True)["lin2.model.1.weight"]
        assert torch.equal(model.lin2.model[1].weight, heads)
        assert not model.training

    def test_env_vars(self, weight_files, offline, monkeypatch):
        alex, lin = weight_files
        monkeypatch.setenv(lp.ALEXNET_ENV, str(alex))
        monkeypatch.setenv(lp.LIN_ENV, str(lin))
        assert lp.resolve_lpips_weights(allow_download=False) == (alex, lin)
        lp.load_lpips(allow_download=False)

    def test_lpips_package_heads_are_used(self, weight_files, offline, monkeypatch):
        alex, lin = weight_files
        monkeypatch.setattr(lp, "_lpips_package_heads", lambda: lin)
        monkeypatch.setattr(
            lp, "LIN_FILE", lp._RemoteFile("alex.pth", "x", lp.sha256_file(lin), "heads")
        )
        assert lp.resolve_lpips_weights(alex, allow_download=False) == (alex, lin)

    def test_cached_file_with_wrong_hash_is_refused(self, weight_files, offline):
        alex, lin = weight_files
        offline.mkdir(parents=True)
        (offline / lp.LIN_FILE.name).write_bytes(lin.read_bytes())
        with pytest.raises(WeightsError, match="sha256"):
            lp.resolve_lpips_weights(alex, allow_download=False)

    def test_offline_message(self, offline):
        with pytest.raises(LowlightError) as info:
            lp.load_lpips(allow_download=False)
        msg = str(info.value)
        assert lp.ALEXNET_FILE.url in msg and lp.LIN_FILE.url in msg
        assert str(offline) in msg
        assert lp.ALEXNET_ENV in msg and lp.LIN_ENV in msg

    def test_failed_download_message(self, weight_files, offline):
        alex, _ = weight_files
        with pytest.raises(WeightsError, match="download failed") as info:
            lp.load_lpips(alex, allow_download=True)
        assert lp.LIN_FILE.url in str(info.value) and lp.ALEXNET_FILE.url not in str(info.value)
        assert not offline.exists() or not any(offline.iterdir())  # no partial file left

    def test_download_checks_hash(self, weight_files, offline, monkeypatch):
        alex, lin = weight_files
        payload = lin.read_bytes()

        class Response:
            def __init__(self) -> None:
                self.chunks = [payload]

            def read(self, n: int) -> bytes:
                return self.chunks.pop() if self.chunks else b""

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                return False

        monkeypatch.setattr(lp.urllib.request, "urlopen", lambda *a, **k: Response())
        with pytest.raises(WeightsError, match="does not match"):
            lp.resolve_lpips_weights(alex)
        assert not any(offline.iterdir())
        monkeypatch.setattr(
            lp, "LIN_FILE", lp._RemoteFile("alex.pth", "x", lp.sha256_file(lin), "heads")
        )
        _, got = lp.resolve_lpips_weights(alex)
        assert got == offline / "alex.pth" and got.read_bytes() == payload

    def test_wrong_file(self, weight_files, offline):
        alex, lin = weight_files
        with pytest.raises(WeightsError, match="lacks the LPIPS keys"):
            lp.load_lpips(lin, lin, allow_download=False)

    def test_missing_explicit_path(self, weight_files, offline, tmp_path):
        _, lin = weight_files
        with pytest.raises(WeightsError, match="not found"):
            lp.load_lpips(tmp_path / "nope.pth", lin, allow_download=False)
