"""Naive RAG: retrieve once, put the chunks in the prompt, generate once."""

from __future__ import annotations

import time

from app.db.models import Collection
from app.rag.base import Answer, AskParameters, NoDocumentsError, Source, Strategy
from app.rag.prompt import build_messages, fit_sources
from app.retrieval import Retriever


class PromptTooLongError(ValueError):
    """The question alone leaves no room for an answer in the model's context."""


class NaiveStrategy(Strategy):
    name = "naive"

    def __init__(self, *, retriever: Retriever, llm_provider) -> None:
        self._retriever = retriever
        self._llm_provider = llm_provider

    def answer(self, collection: Collection, question: str, parameters: AskParameters) -> Answer:
        started = time.perf_counter()
        retrieval = self._retriever.search(collection, question, parameters.top_k)
        if not retrieval.chunks:
            # Without sources the model would answer from nothing and sound just as sure.
            raise NoDocumentsError(
                f"collection {collection.id} has no indexed documents yet; upload documents "
                "and wait for their ingestion job to succeed"
            )
        retrieved = time.perf_counter()

        llm = self._llm_provider()
        tokenizer = llm.tokenizer
        budget = llm.max_context - parameters.max_tokens

        def count_tokens(messages: list[dict[str, str]]) -> int:
            return len(tokenizer.encode(tokenizer.apply_chat_template(messages)))

        numbered = [Source(number, chunk) for number, chunk in enumerate(retrieval.chunks, start=1)]
        sources = fit_sources(question, numbered, count_tokens=count_tokens, budget=budget)
        messages = build_messages(question, sources)
        if count_tokens(messages) > budget:
            raise PromptTooLongError(
                f"the question takes more than the {budget} prompt tokens left after "
                f"max_tokens={parameters.max_tokens}; shorten it or lower max_tokens"
            )
        prompted = time.perf_counter()

        result = llm.chat(
            messages,
            max_tokens=parameters.max_tokens,
            temperature=parameters.temperature,
            seed=parameters.seed,
        )
        trace = [f"retrieved {len(retrieval.chunks)} chunks for the question"]
        if len(sources) < len(numbered):
            trace.append(f"kept {len(sources)} of them to fit the model's context")
        trace.append(f"generated {result.completion_tokens} tokens ({result.finish_reason})")
        return Answer(
            text=result.text.strip(),
            strategy=self.name,
            sources=sources,
            prompt_tokens=result.prompt_tokens,
            completion_tokens=result.completion_tokens,
            finish_reason=result.finish_reason,
            timings={
                "embed": retrieval.embed_seconds,
                "search": retrieval.search_seconds,
                "retrieve": retrieved - started,
                "prompt": prompted - retrieved,
                "prefill": result.prefill_seconds,
                "decode": result.decode_seconds,
                "total": time.perf_counter() - started,
            },
            trace=trace,
        )
