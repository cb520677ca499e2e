"""In-process LLM runtime: a Llama-architecture GGUF model run by our own PyTorch code.

    llm = load_llm(default_llm_path(), max_context=2048)
    result = llm.chat([{"role": "user", "content": "Hello"}], max_tokens=64)

Thread safety: one LLM object runs one generation at a time. generate() and
chat() take a lock for the whole generation because every call writes the
same preallocated KV cache; concurrent callers wait their turn.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from app.llm.errors import ChatTemplateError, ContextLengthError, GGUFFormatError, LLMError
from app.llm.generate import GenerationResult, SamplingParams, generate
from app.llm.gguf_file import LlamaConfig, open_gguf, read_llama_config
from app.llm.model import Transformer, load_transformer
from app.llm.tokenizer import Tokenizer

__all__ = [
    "LLM",
    "ChatTemplateError",
    "ContextLengthError",
    "GGUFFormatError",
    "GenerationResult",
    "LLMError",
    "LlamaConfig",
    "load_llm",
]

logger = logging.getLogger(__name__)


class LLM:
    """A loaded model with its tokenizer; generate() and chat() are serialized by a lock."""

    def __init__(self, model: Transformer, tokenizer: Tokenizer) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.config: LlamaConfig = model.config
        self._lock = threading.Lock()

    @property
    def max_context(self) -> int:
        """Positions in the KV cache: the limit on prompt tokens plus max_tokens."""
        return self.model.max_seq_length

    def generate(
        self,
        prompt: str | Sequence[int],
        max_tokens: int,
        temperature: float = 0.0,
        top_p: float = 1.0,
        seed: int | None = None,
    ) -> GenerationResult:
        """Continue a prompt given as text or token ids.

        Text is encoded as is, and control tokens written in it become their
        ids. BOS is prepended only when the file sets tokenizer.ggml.add_bos_token.
        Generation stops at an end-of-turn token or after max_tokens.

        Raises:
            ContextLengthError: prompt tokens + max_tokens exceed max_context.
            ValueError: an empty prompt or an invalid sampling parameter.
        """
        params = SamplingParams(temperature=temperature, top_p=top_p, seed=seed)
        if isinstance(prompt, str):
            prompt_ids = self.tokenizer.encode(prompt, add_bos=self.tokenizer.add_bos_token)
        else:
            prompt_ids = list(prompt)
        with self._lock:
            return generate(self.model, self.tokenizer, prompt_ids, max_tokens, params, self.tokenizer.stop_token_ids)

    def chat(
        self,
        messages: Sequence[dict[str, str]],
        max_tokens: int,
        temperature: float = 0.0,
        top_p: float = 1.0,
        seed: int | None = None,
    ) -> GenerationResult:
        """Generate the assistant's reply to messages rendered with the model's chat template.

        Args:
            messages: dicts with 'role' ('system', 'user', 'assistant') and 'content'.

        Raises:
            ChatTemplateError: the file has no chat template or a message is malformed.
            ContextLengthError: prompt tokens + max_tokens exceed max_context.
        """
        text = self.tokenizer.apply_chat_template(messages)
        # the template writes any BOS itself, so none is added here
        prompt_ids = self.tokenizer.encode(text)
        return self.generate(prompt_ids, max_tokens, temperature=temperature, top_p=top_p, seed=seed)


def load_llm(path: str | Path, max_context: int | None = None) -> LLM:
    """Load a Llama-architecture GGUF file into an LLM ready to generate.

    Args:
        path: the .gguf file.
        max_context: KV cache positions to allocate; None uses the model's
            context_length. The cache takes 8 * n_layers * n_kv_heads * head_dim
            bytes per position (46 KB for SmolLM2-135M, so 377 MB at 8192).

    Raises:
        FileNotFoundError: the file does not exist.
        GGUFFormatError: the file is not a supported Llama GGUF model.
        ValueError: max_context is not in 1..context_length.
    """
    start = time.perf_counter()
    reader = open_gguf(path)
    config = read_llama_config(reader)
    tokenizer = Tokenizer.from_gguf(reader)
    if tokenizer.vocab_size != config.vocab_size:
        raise GGUFFormatError(
            f"{path}: the tokenizer has {tokenizer.vocab_size} tokens but vocab_size is {config.vocab_size}"
        )

    if max_context is None:
        max_context = config.context_length
    if not 0 < max_context <= config.context_length:
        raise ValueError(
            f"max_context must be in 1..{config.context_length} (the model's context length), got {max_context}"
        )

    model = load_transformer(reader, config)
    model.setup_caches(max_context)
    logger.info(
        "loaded %s (%d layers, dim %d, %d-token cache) in %.1fs",
        Path(path).name, config.n_layers, config.dim, model.max_seq_length, time.perf_counter() - start,
    )
    return LLM(model, tokenizer)
