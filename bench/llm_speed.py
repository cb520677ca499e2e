"""Compare our decoder's prefill and decode speed with transformers on the same GGUF.

Run by hand, not in CI:

    .venv/bin/python bench/llm_speed.py --prompt-tokens 512 --new-tokens 64 --repeats 3

Both models run in one process, one after the other, on the same prompt, with
greedy decoding to a fixed length, so the ratio between them is what to read on
a shared, noisy machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import torch

from app.llm import load_llm
from app.model_files import default_llm_path


def _prompt_ids(llm, count: int) -> list[int]:
    text = "The wing of an aircraft produces lift because air flows faster over its upper surface. " * 64
    ids = llm.tokenizer.encode(text)
    while len(ids) < count:
        ids += ids
    return ids[:count]


def _ours(llm, ids: list[int], new_tokens: int) -> tuple[float, float]:
    # An end-of-turn token can end generation early, so rates use the tokens actually made.
    result = llm.generate(ids, max_tokens=new_tokens)
    decoded = max(result.completion_tokens - 1, 1)
    return len(ids) / result.prefill_seconds, decoded / result.decode_seconds


def _reference(model, ids: list[int], new_tokens: int) -> tuple[float, float]:
    input_ids = torch.tensor([ids])
    with torch.inference_mode():
        started = time.perf_counter()
        output = model(input_ids, use_cache=True)
        prefill = time.perf_counter() - started
        cache = output.past_key_values
        token = output.logits[:, -1].argmax(-1, keepdim=True)
        started = time.perf_counter()
        for _ in range(new_tokens - 1):
            output = model(token, past_key_values=cache, use_cache=True)
            cache = output.past_key_values
            token = output.logits[:, -1].argmax(-1, keepdim=True)
        decode = time.perf_counter() - started
    return len(ids) / prefill, (new_tokens - 1) / decode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompt-tokens", type=int, default=512)
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    path = default_llm_path()
    llm = load_llm(path, max_context=args.prompt_tokens + args.new_tokens + 8)
    ids = _prompt_ids(llm, args.prompt_tokens)

    from transformers import AutoModelForCausalLM

    reference = AutoModelForCausalLM.from_pretrained(path.parent, gguf_file=path.name, dtype=torch.float32)
    reference.eval()

    rows = {"docent": [], "transformers": []}
    for _ in range(args.repeats):
        rows["docent"].append(_ours(llm, ids, args.new_tokens))
        rows["transformers"].append(_reference(reference, ids, args.new_tokens))

    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads")
    print(f"# prompt {args.prompt_tokens} tokens, {args.new_tokens} new tokens, median of {args.repeats}")
    print("| runtime | prefill tokens/s | decode tokens/s |")
    print("| --- | --- | --- |")
    for name, samples in rows.items():
        prefill = statistics.median(s[0] for s in samples)
        decode = statistics.median(s[1] for s in samples)
        print(f"| {name} | {prefill:.0f} | {decode:.1f} |")


if __name__ == "__main__":
    main()
