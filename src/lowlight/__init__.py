"""lowlight: low-light image enhancement.

Public API (importing this package loads nothing heavy; names resolve on first use)::

    import lowlight
    lowlight.list_models()
    model = lowlight.load("lime")            # or a learned model with its shipped weights
    bright = model.enhance("dark.jpg")       # path, PIL image, numpy array or tensor
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["__version__", "build", "enhance", "list_models", "load", "model_info"]


def __getattr__(name: str) -> Any:
    if name in {"build", "list_models", "load", "model_info"}:
        from lowlight import api

        return getattr(api, name)
    raise AttributeError(f"module 'lowlight' has no attribute '{name}'")


def enhance(image: Any, model: str | None = None, **options: Any) -> Any:
    """Enhance one image with ``model`` (the default model if ``None``); see ``EnhancementModel.enhance``."""
    from lowlight import api

    return api.load(model or api.DEFAULT_MODEL).enhance(image, **options)
