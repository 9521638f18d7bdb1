"""score_pair / score_no_reference, METRIC_SPECS, and a light package import."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
import torch

from lowlight.errors import RegistryError
from lowlight.metrics import METRIC_SPECS, MetricSpec, metric_spec, score_no_reference, score_pair
from lowlight.metrics.full_reference import gt_mean_align, psnr, ssim
from lowlight.metrics.lpips import CHANNELS, LPIPS


def test_specs():
    assert set(METRIC_SPECS) == {"psnr", "ssim", "mae", "lpips", "niqe"}
    assert all(isinstance(s, MetricSpec) and s.protocol for s in METRIC_SPECS.values())
    assert METRIC_SPECS["psnr"].higher_is_better and not METRIC_SPECS["lpips"].higher_is_better
    assert not METRIC_SPECS["niqe"].needs_reference
    assert metric_spec("ssim_gtmean") is METRIC_SPECS["ssim"]
    with pytest.raises(RegistryError):
        metric_spec("niqe_gtmean")
    with pytest.raises(RegistryError):
        metric_spec("brisque")


def test_score_pair_columns_and_values(make_image):
    target = make_image(40, 50, 1)
    pred = 0.5 * target
    scores = score_pair(pred, target)
    assert list(scores) == ["psnr", "psnr_gtmean", "ssim", "ssim_gtmean", "mae", "mae_gtmean"]
    assert scores["psnr"] == psnr(pred, target)
    assert scores["ssim_gtmean"] == ssim(gt_mean_align(pred, target), target)
    assert scores["psnr_gtmean"] > scores["psnr"]


def test_score_pair_identical(make_image):
    img = make_image(20, 20, 2)
    scores = score_pair(img, img)
    assert (
        scores["psnr"] == math.inf and scores["ssim"] == pytest.approx(1.0) and scores["mae"] == 0
    )


def test_score_pair_lpips(make_image):
    model = LPIPS()
    model.load_state_dict(
        {
            **model.state_dict(),
            **{f"lin{k}.model.1.weight": torch.rand(1, c, 1, 1) for k, c in enumerate(CHANNELS)},
        }
    )
    target = make_image(40, 48, 3)
    scores = score_pair(target * 0.4, target, metrics=("lpips",), lpips_model=model)
    assert set(scores) == {"lpips", "lpips_gtmean"}
    assert scores["lpips"] > 0
    assert score_pair(target, target, ("lpips",), lpips_model=model)["lpips"] == pytest.approx(
        0.0, abs=1e-7
    )


def test_unknown_metrics(make_image):
    img = make_image(20, 20, 2)
    with pytest.raises(RegistryError, match="psnr"):
        score_pair(img, img, metrics=("niqe",))
    with pytest.raises(RegistryError, match="niqe"):
        score_no_reference(img, metrics=("psnr",))


def test_score_no_reference(make_image):
    pytest.importorskip("scipy.io")
    from lowlight.metrics.niqe_core import niqe

    img = make_image(200, 200, 4)
    try:
        scores = score_no_reference(img)
    except Exception as exc:  # no pristine model in this environment
        pytest.skip(str(exc))
    assert scores == {"niqe": niqe(img)}
    assert np.isfinite(scores["niqe"])


@pytest.mark.slow
def test_import_is_light():
    code = (
        "import sys, lowlight.metrics as m; m.METRIC_SPECS; m.score_pair; "
        "import lowlight.metrics.niqe_core, lowlight.metrics.lpips; "
        "assert 'scipy' not in sys.modules, 'scipy imported'; "
        "assert 'skvideo' not in sys.modules and 'lpips' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
