"""Exceptions raised by the in-process LLM runtime."""

from __future__ import annotations


class LLMError(Exception):
    """Base class for every error the LLM runtime raises on purpose."""


class GGUFFormatError(LLMError, ValueError):
    """A weight file is not a GGUF file this runtime can load."""


class ContextLengthError(LLMError, ValueError):
    """A prompt plus the requested tokens does not fit in the KV cache."""


class ChatTemplateError(LLMError, ValueError):
    """A chat could not be rendered with the model's chat template."""
