"""Session fixtures: our runtime and the transformers reference, each loaded once."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from app.llm import LLM, load_llm
from app.llm.gguf_file import open_gguf
from app.model_files import default_llm_path

# Long enough for every prompt in these tests, small enough to keep the cache light.
TEST_CONTEXT = 256


@pytest.fixture(scope="package", autouse=True)
def single_torch_thread():
    """Run these tests on one intra-op thread and restore the setting afterwards.

    Decoding a 135M model is a chain of small matrix-vector products. On a
    2-core machine shared with other processes, each product waits for a second
    OpenMP thread that is often descheduled, which made these tests 3-4x slower.
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="session")
def gguf_path() -> Path:
    return default_llm_path()


@pytest.fixture(scope="session")
def llm(gguf_path: Path) -> LLM:
    return load_llm(gguf_path, max_context=TEST_CONTEXT)


@pytest.fixture(scope="session")
def gguf_reader(gguf_path: Path):
    return open_gguf(gguf_path)


@pytest.fixture(scope="session")
def hf_tokenizer(gguf_path: Path):
    transformers = pytest.importorskip("transformers", reason="transformers is the reference tokenizer")
    return transformers.AutoTokenizer.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)


@pytest.fixture(scope="session")
def hf_model(gguf_path: Path):
    transformers = pytest.importorskip("transformers", reason="transformers is the reference model")
    model = transformers.AutoModelForCausalLM.from_pretrained(
        gguf_path.parent, gguf_file=gguf_path.name, dtype=torch.float32
    )
    return model.eval()
