"""torch.hub entry points: ``torch.hub.load(repo_dir, "lucent", source="local")``.

Each entry returns a lowlight model in eval mode with its shipped weights (classical models
have none): ``pretrained=False`` gives random parameters; keyword arguments are constructor
overrides (they must match the weights). Works offline from a local clone (this file puts
the clone's ``src/`` on ``sys.path`` when lowlight is not installed) and, once the
repository is published, as ``torch.hub.load("OWNER/lowlight", "lucent")``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

dependencies = ["torch", "numpy", "PIL", "yaml", "safetensors", "click", "tqdm"]

_SRC = Path(__file__).resolve().parent / "src"
if _SRC.is_dir() and str(_SRC) not in sys.path:
    sys.path.insert(0, str(_SRC))


def _load(name: str, pretrained: bool, kwargs: dict[str, Any]) -> Any:
    import lowlight

    device = kwargs.pop("device", "cpu")
    return lowlight.load(name, weights="default" if pretrained else None, device=device, **kwargs)


def lucent(pretrained: bool = True, **kwargs: Any) -> Any:
    """LucentVisionNet (zero-reference curves, arXiv 2506.18323); weights ``lucent_sice`` (CC BY-NC 4.0)."""
    return _load("lucent", pretrained, kwargs)


def mirnet_small(pretrained: bool = True, **kwargs: Any) -> Any:
    """MIRNet narrowed for CPUs (0.67 M parameters); weights ``mirnet_small_synth``."""
    return _load("mirnet_small", pretrained, kwargs)


def nalsuper_small(pretrained: bool = True, **kwargs: Any) -> Any:
    """Text-guided NaLSuper, small; weights ``nalsuper_small_synth`` (prompt stored inside)."""
    return _load("nalsuper_small", pretrained, kwargs)


def mirnet(**kwargs: Any) -> Any:
    """Full MIRNet (31.8 M parameters), random initialisation (no weights ship)."""
    return _load("mirnet", False, kwargs)


def nalsuper(**kwargs: Any) -> Any:
    """Full NaLSuper (2.1 M parameters), random initialisation (no weights ship)."""
    return _load("nalsuper", False, kwargs)


def lime(**kwargs: Any) -> Any:
    """LIME (Guo et al., TIP 2017), classical: no weights."""
    return _load("lime", True, kwargs)


def gamma(**kwargs: Any) -> Any:
    """Automatic global gamma, classical: no weights."""
    return _load("gamma", True, kwargs)


def clahe(**kwargs: Any) -> Any:
    """CLAHE on Lab L, classical: no weights."""
    return _load("clahe", True, kwargs)
