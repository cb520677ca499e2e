"""Generation: greedy output against transformers' generate(), sampling, limits and locking."""

from __future__ import annotations

import threading

import pytest
import torch

pytest.importorskip("transformers", reason="transformers is the reference model")

from app.llm.errors import ContextLengthError  # noqa: E402
from app.llm.generate import SamplingParams, sample_next_token  # noqa: E402

N_TOKENS = 32

GREEDY_PROMPTS = {
    "plain_story": "Once upon a time, in a small village by the sea,",
    "plain_code": "def quicksort(items):\n",
    "chat_explain": [{"role": "user", "content": "Write a paragraph about why the sky is blue."}],
    "chat_list": [
        {"role": "system", "content": "You are a concise assistant."},
        {"role": "user", "content": "List five fruits and one fact about each."},
    ],
}


def encode_prompt(llm, prompt) -> list[int]:
    if isinstance(prompt, str):
        return llm.tokenizer.encode(prompt)
    return llm.tokenizer.encode(llm.tokenizer.apply_chat_template(prompt))


def reference_greedy(hf_model, llm, ids: list[int], max_new_tokens: int) -> list[int]:
    stop_ids = sorted(llm.tokenizer.stop_token_ids)
    with torch.inference_mode():
        output = hf_model.generate(
            torch.tensor([ids]),
            attention_mask=torch.ones(1, len(ids), dtype=torch.long),
            do_sample=False,
            max_new_tokens=max_new_tokens,
            eos_token_id=stop_ids,
            pad_token_id=llm.tokenizer.eos_token_id,
        )
    return output[0, len(ids) :].tolist()


@pytest.mark.parametrize("name", list(GREEDY_PROMPTS))
def test_greedy_matches_transformers(llm, hf_model, name):
    ids = encode_prompt(llm, GREEDY_PROMPTS[name])

    result = llm.generate(ids, max_tokens=N_TOKENS)
    reference = reference_greedy(hf_model, llm, ids, N_TOKENS)

    assert result.token_ids == reference
    assert result.finish_reason == "length"
    assert result.completion_tokens == N_TOKENS


def test_chat_stops_at_end_of_turn(llm, hf_model):
    messages = [{"role": "user", "content": "What is the capital of France?"}]
    ids = encode_prompt(llm, messages)

    result = llm.chat(messages, max_tokens=N_TOKENS)
    reference = reference_greedy(hf_model, llm, ids, N_TOKENS)

    assert result.finish_reason == "stop"
    assert reference[-1] == llm.tokenizer.eos_token_id  # <|im_end|>
    assert result.token_ids == reference[:-1]
    assert result.text == llm.tokenizer.decode(result.token_ids)
    assert "Paris" in result.text
    assert result.prompt_tokens == len(ids)
    assert result.completion_tokens == len(result.token_ids)
    assert result.prefill_seconds > 0
    assert result.decode_seconds >= 0


def test_text_prompt_equals_its_ids(llm):
    text = "The three primary colors are"
    from_text = llm.generate(text, max_tokens=8)
    from_ids = llm.generate(llm.tokenizer.encode(text), max_tokens=8)
    assert from_text.token_ids == from_ids.token_ids
    assert from_text.prompt_tokens == len(llm.tokenizer.encode(text))


def test_seeded_sampling_is_reproducible(llm):
    messages = [{"role": "user", "content": "Invent a name for a cat."}]
    first = llm.chat(messages, max_tokens=12, temperature=1.0, seed=123)
    second = llm.chat(messages, max_tokens=12, temperature=1.0, seed=123)
    assert first.token_ids == second.token_ids


def test_tiny_top_p_equals_greedy(llm):
    # top_p close to 0 keeps only the likeliest token, whatever the temperature
    prompt = GREEDY_PROMPTS["plain_story"]
    greedy = llm.generate(prompt, max_tokens=12)
    nucleus = llm.generate(prompt, max_tokens=12, temperature=1.5, top_p=1e-6, seed=5)
    assert nucleus.token_ids == greedy.token_ids


def test_top_p_keeps_only_nucleus():
    logits = torch.log(torch.tensor([0.5, 0.3, 0.15, 0.05]))
    generator = torch.Generator().manual_seed(0)

    params = SamplingParams(temperature=1.0, top_p=0.7)
    draws = {sample_next_token(logits, params, generator) for _ in range(300)}
    assert draws == {0, 1}  # 0.5 + 0.3 reaches 0.7, so tokens 2 and 3 are cut

    params = SamplingParams(temperature=1.0, top_p=1.0)
    draws = {sample_next_token(logits, params, generator) for _ in range(300)}
    assert draws == {0, 1, 2, 3}


def test_greedy_picks_argmax():
    logits = torch.tensor([0.1, 2.0, -1.0, 1.9])
    assert sample_next_token(logits, SamplingParams(), torch.Generator()) == 1


@pytest.mark.parametrize(
    ("temperature", "top_p", "message"),
    [(-0.1, 1.0, "temperature must be >= 0"), (1.0, 0.0, r"top_p must be in \(0, 1\]"), (1.0, 1.5, "top_p")],
)
def test_invalid_sampling_params_raise(temperature, top_p, message):
    with pytest.raises(ValueError, match=message):
        SamplingParams(temperature=temperature, top_p=top_p)


def test_prompt_longer_than_context_raises(llm):
    ids = [28120] * (llm.max_context + 1)
    with pytest.raises(ContextLengthError, match=f"the context holds {llm.max_context} tokens"):
        llm.generate(ids, max_tokens=1)


def test_prompt_plus_max_tokens_over_context_raises(llm):
    ids = [28120] * (llm.max_context - 10)
    with pytest.raises(ContextLengthError, match="max_tokens is 11"):
        llm.generate(ids, max_tokens=11)


def test_prompt_filling_context_exactly_runs(llm):
    ids = llm.tokenizer.encode("one two three four")
    filler = [28120] * (llm.max_context - len(ids) - 2)
    result = llm.generate(filler + ids, max_tokens=2)
    assert result.prompt_tokens + 2 == llm.max_context
    assert result.completion_tokens <= 2


@pytest.mark.parametrize(
    ("prompt", "max_tokens", "message"),
    [([], 4, "the prompt is empty"), ([1, 2], 0, "max_tokens must be >= 1"), ([1, 49152], 4, "outside the vocabulary")],
)
def test_invalid_requests_raise(llm, prompt, max_tokens, message):
    with pytest.raises(ValueError, match=message):
        llm.generate(prompt, max_tokens=max_tokens)


def test_concurrent_calls_give_serial_results(llm):
    prompts = ["The ocean is", "My favourite programming language is"]
    expected = [llm.generate(p, max_tokens=10).token_ids for p in prompts]
    results: dict[int, list[int]] = {}

    def run(index: int) -> None:
        results[index] = llm.generate(prompts[index], max_tokens=10).token_ids

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(prompts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert [results[i] for i in range(len(prompts))] == expected
