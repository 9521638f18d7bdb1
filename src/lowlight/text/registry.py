"""Registered text encoders by name, built lazily and cached.

Built in: ``minilm`` (offline default; needs ``pip install 'lowlight[text]'``), ``clip``
(needs ``transformers`` and CLIP weights on disk) and ``hash`` (no dependencies, no
language knowledge; tests and controls). Add your own with
``TEXT_ENCODERS.add(name, factory)`` where ``factory()`` returns a
:class:`~lowlight.text.base.TextEncoder`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from lowlight.registry import Registry
from lowlight.text.base import TextEncoder, TextEncoderError

__all__ = [
    "DEFAULT_TEXT_ENCODER",
    "TEXT_ENCODERS",
    "clear_text_encoder_cache",
    "get_text_encoder",
    "list_text_encoders",
]

DEFAULT_TEXT_ENCODER = "minilm"

TEXT_ENCODERS: Registry[Callable[[], TextEncoder]] = Registry("text encoder", package=None)
"""Text encoders: name -> factory with no arguments. Metadata: ``dim`` (``None`` when it
depends on the weights), ``summary``."""

_CACHE: dict[str, TextEncoder] = {}
_LOCK = threading.Lock()


def _minilm() -> TextEncoder:
    from lowlight.text.minilm import MiniLMEncoder

    return MiniLMEncoder()


def _clip() -> TextEncoder:
    from lowlight.text.clip import CLIPTextEncoder

    return CLIPTextEncoder()


def _hash() -> TextEncoder:
    from lowlight.text.hashing import HashTextEncoder

    return HashTextEncoder()


TEXT_ENCODERS.add(
    "minilm", _minilm, dim=384, summary="all-MiniLM-L6-v2 token embeddings (offline, bundled)"
)
TEXT_ENCODERS.add("clip", _clip, dim=None, summary="CLIP text transformer token features")
TEXT_ENCODERS.add("hash", _hash, dim=384, summary="hashed bag of words; no language knowledge")


def list_text_encoders() -> list[str]:
    """Registered encoder names (installed or not)."""
    return TEXT_ENCODERS.names()


def get_text_encoder(name: str = DEFAULT_TEXT_ENCODER) -> TextEncoder:
    """The encoder ``name``, built on first use and cached for the process.

    Raises:
        RegistryError: unknown name.
        MissingDependencyError: the encoder's packages are not installed (the message names
            ``pip install 'lowlight[text]'``).
        TextEncoderError: the encoder's weights are not available.
    """
    with _LOCK:
        if name not in _CACHE:
            encoder = TEXT_ENCODERS.get(name).obj()
            if not isinstance(encoder, TextEncoder):
                raise TextEncoderError(f"text encoder '{name}' did not build a TextEncoder")
            _CACHE[name] = encoder
        return _CACHE[name]


def clear_text_encoder_cache() -> None:
    """Forget built encoders (frees their memory; tests use it after swapping factories)."""
    with _LOCK:
        _CACHE.clear()
