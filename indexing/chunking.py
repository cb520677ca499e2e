"""Split document text into chunks measured in embedder tokens.

Each chunk is a verbatim slice of the text, found through the tokenizer's
offset mapping, and contains at most `max_window` tokens when tokenized again on
its own, so the embedder never truncates it. A cut goes, by preference, at a
paragraph break or sentence end in the last part of the window. Failing that it
goes at the last whitespace, then at the last word boundary (CJK text has no
spaces). Only a single very long word is cut inside.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
from tokenizers import Encoding, Tokenizer

logger = logging.getLogger(__name__)

MIN_CHUNK_TOKENS = 16

# Paragraph and sentence cuts are taken only in this last part of the window,
# so a chunk is at least this fraction of chunk_tokens unless the text ends.
PREFERRED_CUT_FROM = 0.7

# Strength of the boundary before a token, weakest first.
_INSIDE_WORD, _WORD, _SPACE, _SENTENCE, _PARAGRAPH = range(5)

_SENTENCE_END = re.compile(r"[.!?…。！？]['\")\]’”»]*$")
# CJK sentence ends are not followed by a space.
_CJK_SENTENCE_END = re.compile(r"[。！？]$")
_PARAGRAPH_GAP = re.compile(r"\n[^\S\n]*\n")


class InvalidChunkingError(ValueError):
    """Chunk size, overlap or window settings are out of range."""


@dataclass(frozen=True)
class Chunk:
    """A slice `text == document[start_char:end_char]` with its token count and position."""

    text: str
    start_char: int
    end_char: int
    token_count: int
    index: int


def _backend_tokenizer(tokenizer: Any) -> Tokenizer:
    """Return a private copy of the Rust tokenizer with truncation and padding off.

    transformers' fast tokenizers set truncation and padding on the shared
    backend during calls, which can raise "Already borrowed" when two threads
    use one tokenizer. A copy keeps chunking independent of the embedder.
    """
    if isinstance(tokenizer, Tokenizer):
        backend = tokenizer
    elif isinstance(getattr(tokenizer, "backend_tokenizer", None), Tokenizer):
        backend = tokenizer.backend_tokenizer
    else:
        raise InvalidChunkingError(
            f"expected a Hugging Face fast tokenizer or a tokenizers.Tokenizer, "
            f"got {type(tokenizer).__name__}"
        )
    copy = Tokenizer.from_str(backend.to_str())
    copy.no_truncation()
    copy.no_padding()
    return copy


def _check_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidChunkingError(f"{name} must be an integer, got {value!r}")


class Chunker:
    """Split text into overlapping token-sized chunks.

    Args:
        tokenizer: the embedder's HF fast tokenizer (or a tokenizers.Tokenizer).
        chunk_tokens: target chunk size in tokens, MIN_CHUNK_TOKENS..max_window.
        overlap_tokens: tokens shared by consecutive chunks, 0..chunk_tokens-1.
        max_window: tokens the embedder accepts for text, without special tokens.
    """

    def __init__(self, tokenizer: Any, chunk_tokens: int, overlap_tokens: int, max_window: int) -> None:
        for name, value in (("chunk_tokens", chunk_tokens), ("overlap_tokens", overlap_tokens), ("max_window", max_window)):
            _check_int(name, value)
        if max_window < MIN_CHUNK_TOKENS:
            raise InvalidChunkingError(
                f"max_window is {max_window}, below the minimum chunk size {MIN_CHUNK_TOKENS}; "
                "check the embedder's max_seq_length"
            )
        if not MIN_CHUNK_TOKENS <= chunk_tokens <= max_window:
            raise InvalidChunkingError(
                f"chunk_tokens is {chunk_tokens}; set it between {MIN_CHUNK_TOKENS} and "
                f"{max_window} (the embedder's window without special tokens)"
            )
        if not 0 <= overlap_tokens < chunk_tokens:
            raise InvalidChunkingError(
                f"overlap_tokens is {overlap_tokens}; set it between 0 and {chunk_tokens - 1} "
                f"(below chunk_tokens={chunk_tokens})"
            )
        self._tokenizer = _backend_tokenizer(tokenizer)
        self.chunk_tokens = chunk_tokens
        self.overlap_tokens = overlap_tokens
        self.max_window = max_window

    def count_tokens(self, text: str) -> int:
        """Count the tokens of `text` without special tokens."""
        return len(self._tokenizer.encode(text, add_special_tokens=False).ids)

    def split(self, text: str) -> list[Chunk]:
        """Split `text` into chunks; whitespace-only text gives no chunks."""
        if not text.strip():
            return []
        encoding = self._tokenizer.encode(text, add_special_tokens=False)
        offsets = encoding.offsets
        if not offsets:
            # NOTE: a tokenizer that drops every character (e.g. only control
            # characters) leaves nothing to embed, so no chunks are returned.
            logger.debug("text of %d characters produced no tokens", len(text))
            return []
        strengths = _boundary_strengths(text, encoding)

        chunks: list[Chunk] = []
        start, previous_end = 0, 0
        while True:
            end = self._choose_end(strengths, start, previous_end)
            end, chunk = self._make_chunk(text, offsets, strengths, start, end, len(chunks))
            chunks.append(chunk)
            if end >= len(offsets):
                return chunks
            start = self._next_start(strengths, start, end)
            previous_end = end

    def _choose_end(self, strengths: np.ndarray, start: int, previous_end: int) -> int:
        """Pick the token index (exclusive) where the chunk beginning at `start` ends."""
        n_tokens = len(strengths)
        limit = start + self.chunk_tokens
        if limit >= n_tokens:
            return n_tokens

        # strengths[e] is the boundary before token e, i.e. a cut with end == e.
        # The end must pass the previous chunk's end so every chunk adds text.
        lowest = max(start, previous_end) + 1
        preferred_from = max(lowest, start + math.ceil(self.chunk_tokens * PREFERRED_CUT_FROM))
        levels = ((_PARAGRAPH, preferred_from), (_SENTENCE, preferred_from), (_SPACE, lowest), (_WORD, lowest))
        for level, first in levels:
            candidates = np.flatnonzero(strengths[first : limit + 1] >= level)
            if candidates.size:
                return first + int(candidates[-1])
        return limit

    def _next_start(self, strengths: np.ndarray, start: int, end: int) -> int:
        """Pick where the next chunk starts: about overlap_tokens before `end`, on a word boundary."""
        if self.overlap_tokens == 0:
            return end
        target = max(end - self.overlap_tokens, start + 1)
        window = strengths[start + 1 : end]  # candidate starts start+1 .. end-1
        for level in (_SPACE, _WORD):
            candidates = start + 1 + np.flatnonzero(window >= level)
            if candidates.size:
                # Nearest to the target; on a tie, the later one (less overlap).
                distance = np.abs(candidates - target) * 2 - (candidates > target)
                return int(candidates[np.argmin(distance)])
        return target

    def _make_chunk(
        self, text: str, offsets: list[tuple[int, int]], strengths: np.ndarray, start: int, end: int, index: int
    ) -> tuple[int, Chunk]:
        """Build the chunk for tokens [start, end), shrinking it until it fits max_window re-tokenized.

        A slice that cuts inside a word can tokenize into more tokens on its
        own than it had in context, so the count is taken from the slice.
        """
        while True:
            start_char, end_char = offsets[start][0], offsets[end - 1][1]
            piece = text[start_char:end_char]
            token_count = self.count_tokens(piece)
            if token_count <= self.max_window or end - start == 1:
                break
            end = max(start + 1, end - (token_count - self.max_window))
        if token_count > self.max_window:
            # NOTE: reached only with a tokenizer that splits one token's text into
            # more than max_window tokens; the embedder will truncate this chunk.
            logger.warning("chunk %d has %d tokens, above max_window %d", index, token_count, self.max_window)
        return end, Chunk(piece, start_char, end_char, token_count, index)


def _boundary_strengths(text: str, encoding: Encoding) -> np.ndarray:
    """Rate the boundary before each token (index 0 unused): inside word .. paragraph."""
    offsets = encoding.offsets
    word_ids = encoding.word_ids
    strengths = np.full(len(offsets), _INSIDE_WORD, dtype=np.int8)

    for i in range(1, len(offsets)):
        gap = text[offsets[i - 1][1] : offsets[i][0]]
        previous = text[offsets[i - 1][0] : offsets[i - 1][1]]
        has_space = bool(gap) and not gap.strip()
        if _PARAGRAPH_GAP.search(gap):
            strengths[i] = _PARAGRAPH
        elif (has_space and ("\n" in gap or _SENTENCE_END.search(previous))) or _CJK_SENTENCE_END.search(previous):
            strengths[i] = _SENTENCE
        elif has_space:
            strengths[i] = _SPACE
        elif word_ids[i] != word_ids[i - 1]:
            strengths[i] = _WORD
    return strengths
