"""The long-lived parts of one docent process, built once at start."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.db.repository import collection_vectors
from app.db.session import create_db_engine, make_session_factory, upgrade_database
from app.evaluation.jobs import EvaluationWorker
from app.models_registry import ModelRegistry
from app.rag.base import Strategy
from app.rag.naive import NaiveStrategy
from app.retrieval import Retriever
from indexing.index_store import IndexStore
from indexing.workers import IngestionWorkers

logger = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    models: ModelRegistry
    indexes: IndexStore
    workers: IngestionWorkers
    evaluations: EvaluationWorker
    retriever: Retriever
    strategies: dict[str, Strategy]

    @classmethod
    def build(cls, settings: Settings) -> "Runtime":
        """Create the data folder, migrate the database and wire the components together."""
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        if settings.torch_threads:
            # Imported only here: torch takes seconds to import and the API tests rarely need it.
            import torch

            torch.set_num_threads(settings.torch_threads)
        engine = create_db_engine(settings.resolved_database_url)
        upgrade_database(engine)
        session_factory = make_session_factory(engine)
        models = ModelRegistry(settings)

        def load_vectors(collection_id: int):
            with session_factory() as session:
                return collection_vectors(session, collection_id=collection_id)

        indexes = IndexStore(
            settings.index_dir, dimension=lambda: models.embedder.dimension, load_vectors=load_vectors
        )
        workers = IngestionWorkers(
            session_factory=session_factory, models=models, indexes=indexes, threads=settings.ingest_workers
        )
        retriever = Retriever(session_factory=session_factory, models=models, indexes=indexes)
        naive = NaiveStrategy(retriever=retriever, llm_provider=lambda: models.llm)
        return cls(
            settings=settings,
            engine=engine,
            session_factory=session_factory,
            models=models,
            indexes=indexes,
            workers=workers,
            evaluations=EvaluationWorker(session_factory=session_factory, retriever=retriever),
            retriever=retriever,
            strategies={naive.name: naive},
        )

    def start(self) -> None:
        self.workers.start()
        self.evaluations.start()
        logger.info("docent started with data folder %s", self.settings.data_dir.resolve())

    def stop(self) -> None:
        self.workers.stop()
        self.evaluations.stop()
        self.engine.dispose()
