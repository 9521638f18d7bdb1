"""Physically based synthesis of low-light images from well-exposed sRGB photos.

The pipeline (each step documented, configurable and seeded):

1. **Linearise**: invert the sRGB transfer curve (IEC 61966-2-1) to linear light.
2. **Expose**: multiply by an exposure factor ``k`` drawn log-uniformly from
   ``exposure_range`` (default 0.01-0.08, i.e. 3.6 to 6.6 stops under).
3. **Colour shift**: per-channel gains drawn from ``colour_gain_range`` around 1 for R and B
   (G fixed), a white-balance error typical of short exposures under artificial light.
4. **Sensor noise**: heteroscedastic Poisson-Gaussian noise with variance
   ``shot * x + read`` (Foi et al., 2008). The shot level is drawn log-uniformly from
   ``shot_range`` and the read level follows the log-linear relation of Brooks et al.,
   "Unprocessing Images for Learned Raw Denoising" (CVPR 2019):
   ``log(read) = 2.18 * log(shot) + 1.20 + N(0, 0.26)``. Shot noise is sampled as a true
   Poisson variable on ``x / shot`` photo-electrons, read noise as Gaussian.
5. **Quantise** the linear signal to ``adc_bits`` (default 10) as the sensor's ADC would.
6. **Re-apply** the sRGB transfer curve; the caller quantises to 8 bits when saving.

The default ranges were fitted to LOL-v1's real dark inputs with
``benchmarks/synth_vs_lol.py --sources 100`` (medians over 100 well-exposed SICE sources vs
the 15 eval15 inputs; report in ``benchmarks/results/synthesis/``): mean luma 0.057 vs 0.062
and flat-region noise sigma 0.94 vs 0.89 8-bit levels. The first, unfitted guess (exposure
0.02-0.3, shot 1e-4-1.2e-2) gave 0.111 and 2.69: too bright and three times too noisy. The
synthetic spread is wider than LOL's (10th-90th percentile noise 0.60-1.89 vs 0.63-1.05) so
that a model trained on it is not tuned to one camera.

All operations are vectorised numpy on ``(H, W, 3)`` float arrays in ``[0, 1]``.

Every random draw comes from the ``numpy.random.Generator`` passed in, so a dark image is a
pure function of the source, the settings and the generator's seed.
:meth:`LowLightSynthesizer.from_dict` builds a synthesizer from a recipe or CLI mapping
(unknown keys and invalid ranges are a :class:`~lowlight.errors.ConfigError`);
:meth:`LowLightSynthesizer.without_noise` is the "no noise model" ablation (exposure, colour
shift, ADC quantisation and tone curve kept; shot and read noise off).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from lowlight.errors import ConfigError


def srgb_to_linear(x: np.ndarray) -> np.ndarray:
    """sRGB-encoded values in ``[0, 1]`` to linear light (IEC 61966-2-1 piecewise curve)."""
    x = np.clip(x, 0.0, 1.0)
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(x: np.ndarray) -> np.ndarray:
    """Linear light in ``[0, 1]`` to sRGB-encoded values (inverse of :func:`srgb_to_linear`)."""
    x = np.clip(x, 0.0, 1.0)
    return np.where(x <= 0.0031308, x * 12.92, 1.055 * np.power(x, 1 / 2.4) - 0.055)


def quantize(x: np.ndarray, bits: int) -> np.ndarray:
    """Round values to the ``2**bits - 1`` levels of ``[0, 1]`` after clipping (``bits <= 0``:
    unchanged); float32 in, float32 out (float64 stays float64)."""
    if bits <= 0:
        return x
    levels = float(2**bits - 1)
    return np.round(np.clip(x, 0.0, 1.0) * levels) / levels


@dataclass(frozen=True)
class DarkeningParams:
    """The random draws of one synthesised image (recorded for reproducibility)."""

    exposure: float
    gain_r: float
    gain_b: float
    shot: float
    read: float

    def to_dict(self) -> dict[str, float]:
        """``{"exposure": ..., "gain_r": ..., "gain_b": ..., "shot": ..., "read": ...}``."""
        return asdict(self)


@dataclass(frozen=True)
class LowLightSynthesizer:
    """Samples darkening parameters and applies them; see the module docstring.

    Attributes:
        exposure_range: ``(low, high)`` of the linear exposure factor ``k``, sampled
            log-uniformly; ``0 < low <= high``. With the default 0.01-0.08 an sRGB value of
            0.45 becomes 0.022 (``k = 0.01``) to 0.119 (``k = 0.08``) before noise.
        colour_gain_range: ``(low, high)`` of the R and B channel gains (G is 1), each drawn
            uniformly and independently; ``0 < low <= high``.
        shot_range: ``(low, high)`` of the shot-noise level ``a`` (variance per unit linear
            signal, i.e. the inverse of the photo-electrons at full scale), sampled
            log-uniformly; ``0 < low <= high``, or ``(0, 0)`` for no noise at all.
        read_noise: add the Gaussian read noise whose variance follows the shot level
            (Brooks et al.'s relation, see the module docstring); False keeps shot noise only.
        adc_bits: bits of the linear quantiser (0-16); 0 disables it.
    """

    exposure_range: tuple[float, float] = (0.01, 0.08)
    colour_gain_range: tuple[float, float] = (0.9, 1.1)
    shot_range: tuple[float, float] = (3e-5, 6e-4)
    read_noise: bool = True
    adc_bits: int = 10

    def __post_init__(self) -> None:
        for name in ("exposure_range", "colour_gain_range", "shot_range"):
            value = getattr(self, name)
            if len(value) != 2:
                raise ConfigError(f"{name} must be a (low, high) pair, got {value!r}")
            lo, hi = (float(v) for v in value)
            if not (np.isfinite(lo) and np.isfinite(hi)) or lo > hi:
                raise ConfigError(f"{name} must be finite with low <= high, got {value!r}")
            object.__setattr__(self, name, (lo, hi))
            if name == "shot_range" and lo == 0.0 and hi == 0.0:
                continue
            if lo <= 0.0:
                raise ConfigError(
                    f"{name} must be positive (sampled log-uniformly)"
                    + (", or (0, 0) for no noise" if name == "shot_range" else "")
                    + f"; got {value!r}"
                )
        bits = self.adc_bits
        if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)) or not 0 <= bits <= 16:
            raise ConfigError(f"adc_bits must be an integer in [0, 16], got {self.adc_bits!r}")

    @classmethod
    def from_dict(cls, options: Mapping[str, Any]) -> LowLightSynthesizer:
        """A synthesizer from a mapping of its attributes (lists accepted for ranges).

        Raises:
            ConfigError: an unknown key (the message lists the valid ones) or invalid values.
        """
        names = [f.name for f in dataclasses.fields(cls)]
        unknown = [key for key in options if key not in names]
        if unknown:
            raise ConfigError(
                f"unknown synthesizer option(s) {unknown}; valid options: {', '.join(names)}"
            )
        values = {
            key: tuple(value) if isinstance(value, (list, tuple)) else value
            for key, value in options.items()
        }
        try:
            return cls(**values)
        except (TypeError, ValueError) as exc:
            if isinstance(exc, ConfigError):
                raise
            raise ConfigError(f"invalid synthesizer options {dict(options)}: {exc}") from exc

    @property
    def noisy(self) -> bool:
        """Whether any sensor noise is added."""
        return self.shot_range[1] > 0

    def without_noise(self) -> LowLightSynthesizer:
        """The same synthesizer with shot and read noise off (the "no noise model" ablation)."""
        return dataclasses.replace(self, shot_range=(0.0, 0.0), read_noise=False)

    def sample(self, rng: np.random.Generator) -> DarkeningParams:
        """Draw one set of parameters."""
        lo, hi = self.exposure_range
        exposure = float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
        gain_r, gain_b = (float(g) for g in rng.uniform(*self.colour_gain_range, size=2))
        shot = read = 0.0
        if self.shot_range[1] > 0:
            log_shot = rng.uniform(np.log(self.shot_range[0]), np.log(self.shot_range[1]))
            shot = float(np.exp(log_shot))
            if self.read_noise:
                read = float(np.exp(2.18 * log_shot + 1.20 + rng.normal(0.0, 0.26)))
        return DarkeningParams(exposure, gain_r, gain_b, shot, read)

    def apply(
        self, rgb: np.ndarray, params: DarkeningParams, rng: np.random.Generator
    ) -> np.ndarray:
        """Darken ``rgb`` ``(H, W, 3)`` float in ``[0, 1]``; returns the same shape, float32."""
        linear = srgb_to_linear(rgb.astype(np.float64))
        gains = np.array([params.gain_r, 1.0, params.gain_b])
        signal = np.clip(linear * params.exposure * gains, 0.0, 1.0)
        if params.shot > 0:
            signal = rng.poisson(signal / params.shot) * params.shot
        if params.read > 0:
            signal = signal + rng.normal(0.0, np.sqrt(params.read), size=signal.shape)
        signal = quantize(np.clip(signal, 0.0, 1.0), self.adc_bits)
        return linear_to_srgb(signal).astype(np.float32)

    def __call__(
        self, rgb: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, DarkeningParams]:
        """Sample parameters and darken ``rgb``; returns the dark image and the parameters."""
        params = self.sample(rng)
        return self.apply(rgb, params, rng), params

    def to_dict(self) -> dict[str, object]:
        """Plain mapping of the attributes (ranges as lists) that :meth:`from_dict` reads back."""
        return {
            key: list(value) if isinstance(value, tuple) else value
            for key, value in asdict(self).items()
        }
