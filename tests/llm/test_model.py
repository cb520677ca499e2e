"""Our forward pass against transformers' float32 Llama loaded from the same GGUF."""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("transformers", reason="transformers is the reference model")

from app.llm.generate import decode_one_token, prefill  # noqa: E402

LOGIT_TOLERANCE = 1e-3

PLAIN_PROMPTS = [
    "The capital of France is",
    "def fibonacci(n):\n    if n < 2:\n        return n\n",
    "Les élèves ont lu 3 livres 📚 et 日本語",
]
CHAT_PROMPT = [{"role": "user", "content": "Explain what a KV cache is in one sentence."}]


def prompt_ids(llm, prompt) -> list[int]:
    if isinstance(prompt, str):
        return llm.tokenizer.encode(prompt)
    return llm.tokenizer.encode(llm.tokenizer.apply_chat_template(prompt))


def full_logits(llm, ids: list[int]) -> torch.Tensor:
    with torch.inference_mode():
        return llm.model(torch.tensor([ids]), torch.arange(len(ids)))[0]  # (T, vocab_size)


def reference_logits(hf_model, ids: list[int]) -> torch.Tensor:
    with torch.inference_mode():
        return hf_model(torch.tensor([ids])).logits[0].float()  # (T, vocab_size)


@pytest.mark.parametrize("prompt", [*PLAIN_PROMPTS, CHAT_PROMPT], ids=["plain1", "code", "mixed", "chat"])
def test_prefill_logits_match_transformers(llm, hf_model, prompt):
    ids = prompt_ids(llm, prompt)

    ours = full_logits(llm, ids)
    reference = reference_logits(hf_model, ids)

    assert ours.shape == (len(ids), llm.config.vocab_size)
    error = (ours - reference).abs().max().item()
    assert error <= LOGIT_TOLERANCE, f"max abs logit difference {error}"


def test_decode_steps_match_full_forward(llm, hf_model):
    ids = prompt_ids(llm, CHAT_PROMPT)
    split = len(ids) - 6
    reference = reference_logits(hf_model, ids)
    full = full_logits(llm, ids)

    with torch.inference_mode():
        step_logits = [prefill(llm.model, torch.tensor(ids[:split]))]
        for position in range(split, len(ids)):
            step_logits.append(decode_one_token(llm.model, ids[position], position))

    # step_logits[j] predicts the token after position split - 1 + j
    for j, logits in enumerate(step_logits):
        position = split - 1 + j
        assert (logits - full[position]).abs().max().item() <= 1e-4, f"position {position} differs from full forward"
        error = (logits - reference[position]).abs().max().item()
        assert error <= LOGIT_TOLERANCE, f"position {position}: max abs difference {error} from transformers"


def test_chunk_after_prefix_matches_full_forward(llm):
    # a multi-token chunk at positions > 0 exercises the causal mask over cached keys
    ids = prompt_ids(llm, PLAIN_PROMPTS[1])
    full = full_logits(llm, ids)

    with torch.inference_mode():
        llm.model(torch.tensor([ids[:5]]), torch.arange(5))
        chunk = llm.model(torch.tensor([ids[5:]]), torch.arange(5, len(ids)))[0]

    assert (chunk - full[5:]).abs().max().item() <= 1e-4


def test_cache_from_longer_sequence_does_not_leak(llm):
    # positions past the new prompt still hold keys of the longer one
    long_ids = prompt_ids(llm, PLAIN_PROMPTS[1])
    short_ids = prompt_ids(llm, PLAIN_PROMPTS[0])
    expected = full_logits(llm, short_ids)[-1]

    with torch.inference_mode():
        prefill(llm.model, torch.tensor(long_ids))
        again = prefill(llm.model, torch.tensor(short_ids))

    assert torch.equal(again, expected)


def test_setup_caches_is_idempotent(llm):
    k_cache = llm.model.layers[0].attention.kv_cache.k_cache
    llm.model.setup_caches(llm.max_context)
    assert llm.model.layers[0].attention.kv_cache.k_cache is k_cache


def test_output_head_is_tied_to_embeddings(llm):
    assert llm.model.output.weight is llm.model.tok_embeddings.weight


def test_config_comes_from_file(llm):
    config = llm.config
    assert (config.n_layers, config.n_heads, config.n_kv_heads, config.head_dim) == (30, 9, 3, 64)
    assert (config.dim, config.ffn_dim, config.vocab_size, config.context_length) == (576, 1536, 49152, 8192)
    assert config.rope_base == 100000.0
    assert config.norm_eps == pytest.approx(1e-5)
    assert (config.bos_token_id, config.eos_token_id) == (1, 2)
    assert config.chat_template.startswith("{% for message in messages %}")
