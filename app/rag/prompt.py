"""Prompts that give the model numbered sources and a question."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from app.rag.base import Source

SYSTEM_PROMPT = (
    "You answer questions using only the numbered sources you are given. "
    "Cite the sources you use by their numbers in square brackets, like [1]. "
    "If the sources do not contain the answer, say that you do not know."
)


def format_sources(sources: Sequence[Source]) -> str:
    blocks = []
    for source in sources:
        title = f" {source.chunk.title.strip()}" if source.chunk.title else ""
        blocks.append(f"[{source.number}]{title}\n{source.chunk.text.strip()}")
    return "\n\n".join(blocks)


def build_messages(question: str, sources: Sequence[Source]) -> list[dict[str, str]]:
    """Return chat messages: the instructions, then the sources followed by the question."""
    user = f"Sources:\n\n{format_sources(sources)}\n\nQuestion: {question.strip()}"
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]


def fit_sources(
    question: str,
    sources: list[Source],
    *,
    count_tokens: Callable[[list[dict[str, str]]], int],
    budget: int,
) -> list[Source]:
    """Drop the lowest-ranked sources until the prompt fits in `budget` tokens.

    Returns the sources kept, possibly none when even the bare question is too long.
    """
    kept = list(sources)
    while kept and count_tokens(build_messages(question, kept)) > budget:
        kept.pop()
    return kept
