"""A random Llama of another shape and mixed tensor types, against transformers."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

transformers = pytest.importorskip("transformers", reason="transformers is the reference model")

from app.llm import load_llm  # noqa: E402
from tests.llm.tiny_gguf import MIXED_TYPES, TinyLlamaSpec, write_tiny_llama  # noqa: E402


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory):
    # untied output head, 4 query / 2 KV heads, rope base 10000, and Q4_0, Q4_1,
    # Q8_0, Q4_K, Q6_K, F16 and F32 tensors in one file
    folder = tmp_path_factory.mktemp("tiny")
    path: Path = write_tiny_llama(folder / "tiny.gguf", TinyLlamaSpec(tensor_types=MIXED_TYPES))
    ours = load_llm(path)
    reference = transformers.AutoModelForCausalLM.from_pretrained(path.parent, gguf_file=path.name, dtype=torch.float32)
    return ours, reference.eval()


def test_tiny_logits_match_transformers(tiny_models):
    ours, reference = tiny_models
    ids = ours.tokenizer.encode("the cat sat on the mat <|im_end|> then the hat")

    with torch.inference_mode():
        logits = ours.model(torch.tensor([ids]), torch.arange(len(ids)))[0]
        expected = reference(torch.tensor([ids])).logits[0]

    assert logits.abs().max().item() > 0.5  # the random model gives non-trivial logits
    assert (logits - expected).abs().max().item() <= 1e-4


def test_tiny_greedy_matches_transformers(tiny_models):
    ours, reference = tiny_models
    ids = ours.tokenizer.encode("hello there")

    result = ours.generate(ids, max_tokens=20)
    with torch.inference_mode():
        output = reference.generate(
            torch.tensor([ids]), attention_mask=torch.ones(1, len(ids), dtype=torch.long),
            do_sample=False, max_new_tokens=20, eos_token_id=sorted(ours.tokenizer.stop_token_ids), pad_token_id=2,
        )
    expected = output[0, len(ids):].tolist()

    if result.finish_reason == "stop":
        expected = expected[:-1]
    assert result.token_ids == expected
