"""Device selection and CPU numerics set-up."""

from __future__ import annotations

import torch

from lowlight.errors import LowlightError

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


def resolve_device(spec: str | torch.device = "auto") -> torch.device:
    """Turn ``auto|cpu|cuda|cuda:N|mps`` into a :class:`torch.device`, failing clearly.

    ``auto`` picks CUDA, then MPS, then CPU.
    """
    if isinstance(spec, torch.device):
        return spec
    spec = spec.strip().lower()
    if spec == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if spec.startswith("cuda") and not torch.cuda.is_available():
        raise LowlightError(
            f"device '{spec}' requested but CUDA is not available; use --device cpu"
        )
    if spec == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise LowlightError("device 'mps' requested but MPS is not available; use --device cpu")
    try:
        return torch.device(spec)
    except RuntimeError as exc:
        raise LowlightError(
            f"unknown device '{spec}'; choose one of {', '.join(DEVICE_CHOICES)}"
        ) from exc


def prepare_runtime(device: torch.device) -> None:
    """Per-run numerics set-up: on CPU flush denormals (they slow some LLIE models several-fold).

    Called by the CLI and :func:`lowlight.load`, never at import.
    """
    if device.type == "cpu":
        torch.set_flush_denormal(True)
