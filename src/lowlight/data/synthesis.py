"""Physically based synthesis of low-light images from well-exposed sRGB photos.

The pipeline (each step documented, configurable and seeded):

1. **Linearise**: invert the sRGB transfer curve (IEC 61966-2-1) to linear light.
2. **Expose**: multiply by an exposure factor ``k`` drawn log-uniformly from
   ``exposure_range`` (default 0.02-0.3, i.e. 1.7 to 5.6 stops under).
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

All operations are vectorised numpy on ``(H, W, 3)`` float arrays in ``[0, 1]``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


def srgb_to_linear(x: np.ndarray) -> np.ndarray:
    """sRGB-encoded values in ``[0, 1]`` to linear light (IEC 61966-2-1 piecewise curve)."""
    x = np.clip(x, 0.0, 1.0)
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(x: np.ndarray) -> np.ndarray:
    """Linear light in ``[0, 1]`` to sRGB-encoded values (inverse of :func:`srgb_to_linear`)."""
    x = np.clip(x, 0.0, 1.0)
    return np.where(x <= 0.0031308, x * 12.92, 1.055 * np.power(x, 1 / 2.4) - 0.055)


@dataclass(frozen=True)
class DarkeningParams:
    """The random draws of one synthesised image (recorded for reproducibility)."""

    exposure: float
    gain_r: float
    gain_b: float
    shot: float
    read: float


@dataclass(frozen=True)
class LowLightSynthesizer:
    """Samples darkening parameters and applies them; see the module docstring.

    Attributes:
        exposure_range: range of the linear exposure factor, sampled log-uniformly.
        colour_gain_range: range of the R and B channel gains (G is 1).
        shot_range: range of the shot-noise level (variance per unit linear signal),
            sampled log-uniformly; ``(0, 0)`` disables noise.
        read_noise: if False, no read noise.
        adc_bits: bits of the linear quantiser; 0 disables it.
    """

    exposure_range: tuple[float, float] = (0.02, 0.3)
    colour_gain_range: tuple[float, float] = (0.9, 1.1)
    shot_range: tuple[float, float] = (1e-4, 1.2e-2)
    read_noise: bool = True
    adc_bits: int = 10

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
        signal = np.clip(signal, 0.0, 1.0)
        if self.adc_bits > 0:
            levels = 2**self.adc_bits - 1
            signal = np.round(signal * levels) / levels
        return linear_to_srgb(signal).astype(np.float32)

    def __call__(
        self, rgb: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, DarkeningParams]:
        """Sample parameters and darken ``rgb``; returns the dark image and the parameters."""
        params = self.sample(rng)
        return self.apply(rgb, params, rng), params

    def to_dict(self) -> dict[str, object]:
        return asdict(self)
