"""The contract every enhancement model follows, and the user-facing ``enhance`` method.

Contract (checked at the boundary by :func:`lowlight.contract.check_image_batch`, which
lives below both ``models/`` and ``inference/`` and is re-exported here):

* input ``(B, 3, H, W)`` finite float sRGB in ``[0, 1]``, any ``H`` and ``W``;
* output the same shape, finite, in ``[0, 1]``;
* models that need ``H, W`` divisible by something pad and crop inside
  (set :attr:`EnhancementModel.pad_multiple`).

Models whose output depends on whole-image statistics (exposure gain, illumination
maps, curve maps) implement :meth:`EnhancementModel.estimate_context`; tiled inference
calls it once on a downscaled copy of the whole image and passes the result to every
tile, so that tiles of a large image agree (see :mod:`lowlight.inference.tiling`).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lowlight.contract import Context, check_image_batch, is_spatial_map
from lowlight.layers.padding import crop_to, pad_to_multiple

__all__ = ["Context", "EnhancementModel", "check_image_batch", "is_spatial_map"]


class EnhancementModel(nn.Module):
    """Base class of all lowlight models.

    Subclasses implement :meth:`enhance_tensor` on a padded batch; :meth:`forward`
    checks the input, pads to :attr:`pad_multiple`, calls it, crops and clamps.

    Shape:
        - Input: ``(B, 3, H, W)`` in ``[0, 1]``.
        - Output: ``(B, 3, H, W)`` in ``[0, 1]``.
    """

    pad_multiple: int = 1
    """H and W are padded (reflect) to a multiple of this before :meth:`enhance_tensor`."""

    tileable: bool = True
    """Whether large images may be split into overlapping tiles. Models that are cheap on
    the whole frame (classical operators) set ``False`` and always see the whole image."""

    fast_path: bool = True
    """Whether the fast path may run this model (network on a downscaled copy, its effect
    applied at full resolution as a local affine transform; see
    :mod:`lowlight.inference.fast_path`). ``False`` opts out: every speed runs the model
    at full resolution."""

    default_speed: str = "full"
    """Speed mode used when none is asked for: ``fast``, ``balanced`` or ``full``."""

    def forward(self, x: Tensor, context: Context | None = None) -> Tensor:
        check_image_batch(x)
        weights_dtype = _float_parameter_dtype(self)
        if weights_dtype is not None and x.dtype != weights_dtype:  # e.g. float64 input
            return self.forward(x.to(weights_dtype), context).to(x.dtype)
        padded, size = pad_to_multiple(x, self.pad_multiple)
        if context is not None:
            context = _fit_context(context, size, self.pad_multiple)
        y = self.enhance_tensor(padded, context)
        return crop_to(y, size).clamp(0.0, 1.0)

    def enhance_tensor(self, x: Tensor, context: Context | None = None) -> Tensor:
        """Enhance a padded batch ``(B, 3, H, W)``; the result may leave ``[0, 1]`` (clamped after).

        Spatial maps in ``context`` arrive resampled and padded to exactly ``(H, W)``.
        """
        raise NotImplementedError

    def forward_train(self, x: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        """Training forward: the enhanced batch ``(B, 3, H, W)``, *not* clamped (so pixels
        that leave ``[0, 1]`` still get a gradient), and auxiliary tensors that losses need
        (e.g. curve maps). The default pads, calls :meth:`enhance_tensor` and crops, like
        :meth:`forward` without the clamp, and returns no auxiliary tensors."""
        check_image_batch(x)
        padded, size = pad_to_multiple(x, self.pad_multiple)
        return crop_to(self.enhance_tensor(padded), size), {}

    def estimate_context(self, x: Tensor) -> Context | None:
        """Whole-image information for tiled inference, computed on a downscaled copy ``x``.

        Returns ``None`` (the default) when tiles can be enhanced independently.
        """
        return None

    def enhance(
        self,
        image: Any,
        *,
        speed: str | None = None,
        strength: float = 1.0,
        tile: int = 1024,
        overlap: int = 64,
        context_side: int = 512,
        working_pixels: int | None = None,
        denoise: float | str = 0.0,
    ) -> Any:
        """Enhance a path, PIL image, numpy array ``(H, W, 3)`` or tensor ``(B, 3, H, W)``.

        Returns the same kind as the input (a path gives a PIL image).

        Args:
            image: what to enhance.
            speed: ``"fast"`` / ``"balanced"`` (the network runs on a copy of about 1 / 4
                megapixels and its effect is applied at full resolution), ``"full"`` (the
                network at full resolution); ``None``: the model's :attr:`default_speed`.
            strength: ``0`` returns the input, ``1`` the model's result, above ``1``
                exaggerates it (clipped to ``[0, 1]``).
            tile, overlap: images larger than ``tile`` pixels per side go through the
                network in overlapping tiles (:data:`lowlight.inference.DEFAULT_TILE`,
                :data:`~lowlight.inference.DEFAULT_OVERLAP`).
            context_side: longer side of the copy whole-image context is estimated on when
                tiling (:data:`~lowlight.inference.DEFAULT_CONTEXT_SIDE`).
            working_pixels: the fast path's working size instead of the speed mode's.
            denoise: fast path only: ``0`` off, a noise std in 8-bit levels, or ``"auto"``
                (a cheap full-resolution denoise; the model's own denoising does not
                transfer from the working size).
        """
        from lowlight.inference import enhance_any

        return enhance_any(
            self,
            image,
            speed=speed,
            strength=strength,
            tile=tile,
            overlap=overlap,
            context_side=context_side,
            working_pixels=working_pixels,
            denoise=denoise,
        )

    @property
    def device(self) -> torch.device:
        """Device of the first parameter or buffer (CPU for parameter-free models)."""
        for t in self.parameters():
            return t.device
        for t in self.buffers():
            return t.device
        return torch.device("cpu")


def _float_parameter_dtype(module: nn.Module) -> torch.dtype | None:
    """dtype of the first floating-point parameter (``None`` for parameter-free models)."""
    for param in module.parameters():
        if param.is_floating_point():
            return param.dtype
    return None


def _fit_context(context: Context, size: tuple[int, int], multiple: int) -> Context:
    """Resample spatial maps (which cover the unpadded input) to ``size = (H, W)`` and pad
    them exactly as the image is padded, so :meth:`EnhancementModel.enhance_tensor` gets
    maps aligned pixel for pixel with its input. Global values pass through."""
    out: Context = {}
    for key, value in context.items():
        if is_spatial_map(value):
            if tuple(value.shape[-2:]) != tuple(size):
                value = F.interpolate(value, size=size, mode="bilinear", align_corners=False)
            value, _ = pad_to_multiple(value, multiple)
        out[key] = value
    return out
