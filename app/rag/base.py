"""The interface every retrieval-augmented generation strategy implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

from app.db.models import Collection
from app.retrieval import RetrievedChunk


@dataclass(frozen=True)
class Source:
    """A chunk given to the model, numbered as in the prompt."""

    number: int
    chunk: RetrievedChunk


@dataclass(frozen=True)
class AskParameters:
    top_k: int
    max_tokens: int
    temperature: float = 0.0
    seed: int | None = None


@dataclass
class Answer:
    text: str
    strategy: str
    sources: list[Source]
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str
    # Seconds per stage, in the order the stages ran.
    timings: dict[str, float] = field(default_factory=dict)
    # One line per step the strategy took, for callers who judge its answers.
    trace: list[str] = field(default_factory=list)


class NoDocumentsError(LookupError):
    """Retrieval found nothing to answer from, because the collection has no indexed chunks."""


class Strategy(ABC):
    name: str

    @abstractmethod
    def answer(self, collection: Collection, question: str, parameters: AskParameters) -> Answer:
        """Answer a question from the collection's documents."""
