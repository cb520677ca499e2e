"""Token generation: prefill the prompt, then decode one token at a time.

Both steps run under torch.inference_mode on the model's preallocated KV cache,
so the caller must hold the model for the whole generation (see app.llm.LLM).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor

from app.llm.errors import ContextLengthError
from app.llm.model import Transformer
from app.llm.tokenizer import Tokenizer

logger = logging.getLogger(__name__)

FinishReason = Literal["stop", "length"]


@dataclass(frozen=True)
class GenerationResult:
    """Output of one generation.

    token_ids and completion_tokens exclude the end-of-turn token that stopped
    generation; the text is token_ids decoded.
    """

    text: str
    token_ids: list[int]
    prompt_tokens: int
    completion_tokens: int
    finish_reason: FinishReason  # 'stop': an end-of-turn token; 'length': max_tokens reached
    prefill_seconds: float  # prompt forward pass and first token choice
    decode_seconds: float  # every later token


@dataclass(frozen=True)
class SamplingParams:
    """Settings for choosing the next token from the logits."""

    temperature: float = 0.0  # 0 picks the most likely token (greedy)
    top_p: float = 1.0  # keep the smallest set of likeliest tokens whose probability reaches top_p
    seed: int | None = None  # None draws a fresh seed for every generation

    def __post_init__(self) -> None:
        if self.temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")


def prefill(model: Transformer, prompt_ids: Tensor) -> Tensor:
    """Run the whole prompt through the model from position 0 and return the last position's logits.

    Args:
        prompt_ids: (T,) token ids.

    Returns:
        (vocab_size,) float32 logits for the token after the prompt.
    """
    input_pos = torch.arange(prompt_ids.shape[0])
    logits = model(prompt_ids[None, :], input_pos)  # (1, T, vocab_size)
    return logits[0, -1]


def decode_one_token(model: Transformer, token_id: int, position: int) -> Tensor:
    """Feed one token at `position` and return its logits; the cache must contain every earlier position.

    Returns:
        (vocab_size,) float32 logits for the token after it.
    """
    logits = model(torch.tensor([[token_id]]), torch.tensor([position]))  # (1, 1, vocab_size)
    return logits[0, -1]


def sample_next_token(logits: Tensor, params: SamplingParams, generator: torch.Generator) -> int:
    """Choose the next token id from (vocab_size,) logits: argmax at temperature 0, else top-p sampling."""
    if params.temperature == 0:
        return int(torch.argmax(logits))

    probs = torch.softmax(logits.float() / params.temperature, dim=-1)  # (vocab_size,)
    if params.top_p < 1:
        sorted_probs, sorted_ids = torch.sort(probs, descending=True)
        # drop a token when the likelier tokens before it already reach top_p
        before = torch.cumsum(sorted_probs, dim=-1) - sorted_probs
        sorted_probs[before >= params.top_p] = 0.0
        choice = torch.multinomial(sorted_probs, 1, generator=generator)
        return int(sorted_ids[choice])
    return int(torch.multinomial(probs, 1, generator=generator))


def generate(
    model: Transformer,
    tokenizer: Tokenizer,
    prompt_ids: Sequence[int],
    max_tokens: int,
    params: SamplingParams,
    stop_token_ids: Collection[int],
) -> GenerationResult:
    """Generate up to max_tokens tokens after the prompt, stopping early on a stop token.

    Raises:
        ValueError: the prompt is empty, contains ids outside the vocabulary, or max_tokens < 1.
        ContextLengthError: len(prompt_ids) + max_tokens exceeds the KV cache; nothing is truncated.
    """
    _check_request(model, prompt_ids, max_tokens)
    generator = torch.Generator()
    if params.seed is None:
        generator.seed()
    else:
        generator.manual_seed(params.seed)

    with torch.inference_mode():
        start = time.perf_counter()
        logits = prefill(model, torch.tensor(list(prompt_ids), dtype=torch.long))
        next_id = sample_next_token(logits, params, generator)
        prefill_seconds = time.perf_counter() - start

        start = time.perf_counter()
        completion: list[int] = []
        finish_reason: FinishReason = "length"
        position = len(prompt_ids)
        while True:
            if next_id in stop_token_ids:
                finish_reason = "stop"
                break
            completion.append(next_id)
            if len(completion) == max_tokens:
                break
            logits = decode_one_token(model, next_id, position)
            next_id = sample_next_token(logits, params, generator)
            position += 1
        decode_seconds = time.perf_counter() - start

    logger.debug(
        "generated %d tokens after %d prompt tokens (%s) in %.2fs + %.2fs",
        len(completion), len(prompt_ids), finish_reason, prefill_seconds, decode_seconds,
    )
    return GenerationResult(
        text=tokenizer.decode(completion),
        token_ids=completion,
        prompt_tokens=len(prompt_ids),
        completion_tokens=len(completion),
        finish_reason=finish_reason,
        prefill_seconds=prefill_seconds,
        decode_seconds=decode_seconds,
    )


def _check_request(model: Transformer, prompt_ids: Sequence[int], max_tokens: int) -> None:
    if len(prompt_ids) == 0:
        raise ValueError("the prompt is empty; pass at least one token")
    if max_tokens < 1:
        raise ValueError(f"max_tokens must be >= 1, got {max_tokens}")
    vocab_size = model.config.vocab_size
    bad = [token_id for token_id in prompt_ids if not 0 <= token_id < vocab_size]
    if bad:
        raise ValueError(f"prompt token ids {bad[:5]} are outside the vocabulary of {vocab_size} tokens")
    if len(prompt_ids) + max_tokens > model.max_seq_length:
        raise ContextLengthError(
            f"the prompt has {len(prompt_ids)} tokens and max_tokens is {max_tokens}, "
            f"but the context holds {model.max_seq_length} tokens; shorten the prompt or lower max_tokens"
        )
