"""Frozen text encoders for text-guided models, and the prompt buffers models keep.

Importing this package loads no encoder and no optional dependency: encoders are built on
first use (:func:`get_text_encoder`)."""

from lowlight.text.base import TextEncoder, TextEncoderError, TokenEmbeddings
from lowlight.text.prompt import PromptEmbedding
from lowlight.text.registry import (
    DEFAULT_TEXT_ENCODER,
    TEXT_ENCODERS,
    clear_text_encoder_cache,
    get_text_encoder,
    list_text_encoders,
)

__all__ = [
    "DEFAULT_TEXT_ENCODER",
    "TEXT_ENCODERS",
    "PromptEmbedding",
    "TextEncoder",
    "TextEncoderError",
    "TokenEmbeddings",
    "clear_text_encoder_cache",
    "get_text_encoder",
    "list_text_encoders",
]
