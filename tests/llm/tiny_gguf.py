"""Write small random Llama GGUF files to test loading, other shapes and bad files."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gguf
import numpy as np
from gguf import GGML_QUANT_SIZES, GGMLQuantizationType
from tokenizers import pre_tokenizers

Q = GGMLQuantizationType


@dataclass
class TinyLlamaSpec:
    """Shape, tensor types and deliberate defects of a generated model file."""

    architecture: str = "llama"
    dim: int = 256
    n_layers: int = 2
    n_heads: int = 4
    n_kv_heads: int = 2
    ffn_dim: int = 256
    context_length: int = 64
    rope_base: float = 10000.0
    norm_eps: float = 1e-6
    tokenizer_model: str = "gpt2"
    tokenizer_pre: str = "gpt2"
    # tensor name -> GGML type; tensors not listed are F32
    tensor_types: dict[str, GGMLQuantizationType] = field(default_factory=dict)
    skip_keys: set[str] = field(default_factory=set)
    extra_keys: dict[str, Any] = field(default_factory=dict)
    skip_tensors: set[str] = field(default_factory=set)
    extra_tensors: dict[str, tuple[int, ...]] = field(default_factory=dict)  # name -> numpy shape
    tensor_shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)  # numpy shape overrides
    tied_output: bool = False


# Types that transformers can also dequantize, spread over the first layer.
MIXED_TYPES = {
    "token_embd.weight": Q.Q8_0,
    "output.weight": Q.F16,
    "blk.0.attn_q.weight": Q.Q4_0,
    "blk.0.attn_k.weight": Q.Q4_1,
    "blk.0.attn_v.weight": Q.Q8_0,
    "blk.0.attn_output.weight": Q.Q6_K,
    "blk.0.ffn_gate.weight": Q.Q4_K,
    "blk.0.ffn_up.weight": Q.F16,
    "blk.0.ffn_down.weight": Q.Q4_K,
    "blk.1.ffn_down.weight": Q.Q6_K,
}

SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
CHAT_TEMPLATE = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def tiny_vocabulary() -> tuple[list[str], list[int], list[str]]:
    """Return tokens, token types and merges: special tokens, the 256 byte symbols, two merges."""
    symbols = sorted(pre_tokenizers.ByteLevel.alphabet())
    merges = ["Ġ t", "h e"]
    tokens = SPECIAL_TOKENS + symbols + ["Ġt", "he"]
    types = [int(gguf.TokenType.CONTROL)] * len(SPECIAL_TOKENS) + [int(gguf.TokenType.NORMAL)] * (len(tokens) - 3)
    return tokens, types, merges


def tensor_shapes(spec: TinyLlamaSpec, vocab_size: int) -> dict[str, tuple[int, ...]]:
    """Return the numpy shape (out, in) of every tensor a plain Llama file holds."""
    head_dim = spec.dim // spec.n_heads
    shapes: dict[str, tuple[int, ...]] = {
        "token_embd.weight": (vocab_size, spec.dim),
        "output_norm.weight": (spec.dim,),
    }
    if not spec.tied_output:
        shapes["output.weight"] = (vocab_size, spec.dim)
    for i in range(spec.n_layers):
        shapes |= {
            f"blk.{i}.attn_norm.weight": (spec.dim,),
            f"blk.{i}.attn_q.weight": (spec.n_heads * head_dim, spec.dim),
            f"blk.{i}.attn_k.weight": (spec.n_kv_heads * head_dim, spec.dim),
            f"blk.{i}.attn_v.weight": (spec.n_kv_heads * head_dim, spec.dim),
            f"blk.{i}.attn_output.weight": (spec.dim, spec.n_heads * head_dim),
            f"blk.{i}.ffn_norm.weight": (spec.dim,),
            f"blk.{i}.ffn_gate.weight": (spec.ffn_dim, spec.dim),
            f"blk.{i}.ffn_up.weight": (spec.ffn_dim, spec.dim),
            f"blk.{i}.ffn_down.weight": (spec.dim, spec.ffn_dim),
        }
    shapes |= spec.tensor_shapes
    shapes |= spec.extra_tensors
    for name in spec.skip_tensors:
        shapes.pop(name)
    return shapes


def random_tensor(shape: tuple[int, ...], qtype: GGMLQuantizationType, rng: np.random.Generator) -> np.ndarray:
    """Return random weights for one tensor, quantized to qtype (raw bytes for quantized types)."""
    if len(shape) == 1:  # norm weights near 1
        return (1.0 + rng.normal(0.0, 0.1, size=shape)).astype(np.float32)
    weights = rng.normal(0.0, 0.05, size=shape).astype(np.float32)
    if qtype == Q.F32:
        return weights
    if qtype == Q.F16:
        return weights.astype(np.float16)
    if qtype in (Q.Q8_0, Q.Q4_0, Q.Q4_1):
        return gguf.quants.quantize(weights, qtype)
    # gguf has no quantizer for the other types: random bytes with small float16 scales
    block_elements, block_bytes = GGML_QUANT_SIZES[qtype]
    n_blocks = weights.size // block_elements
    blocks = rng.integers(0, 256, size=(n_blocks, block_bytes), dtype=np.uint8)
    scale_offsets = {Q.Q4_K: (0, 2), Q.Q6_K: (208,)}.get(qtype, (0,))
    for offset in scale_offsets:
        scales = rng.uniform(0.0005, 0.002, size=n_blocks).astype("<f2")
        blocks[:, offset : offset + 2] = scales.view(np.uint8).reshape(n_blocks, 2)
    return blocks.reshape(shape[0], -1)


def write_tiny_llama(path: Path, spec: TinyLlamaSpec | None = None, seed: int = 0) -> Path:
    """Write a random model described by spec to path and return the path."""
    spec = spec or TinyLlamaSpec()
    rng = np.random.default_rng(seed)
    tokens, token_types, merges = tiny_vocabulary()
    arch = spec.architecture

    metadata: dict[str, tuple[str, Any]] = {
        f"{arch}.block_count": ("uint32", spec.n_layers),
        f"{arch}.context_length": ("uint32", spec.context_length),
        f"{arch}.embedding_length": ("uint32", spec.dim),
        f"{arch}.feed_forward_length": ("uint32", spec.ffn_dim),
        f"{arch}.attention.head_count": ("uint32", spec.n_heads),
        f"{arch}.attention.head_count_kv": ("uint32", spec.n_kv_heads),
        f"{arch}.attention.layer_norm_rms_epsilon": ("float32", spec.norm_eps),
        f"{arch}.rope.freq_base": ("float32", spec.rope_base),
        "tokenizer.ggml.model": ("string", spec.tokenizer_model),
        "tokenizer.ggml.pre": ("string", spec.tokenizer_pre),
        "tokenizer.ggml.tokens": ("array", tokens),
        "tokenizer.ggml.token_type": ("array", token_types),
        "tokenizer.ggml.merges": ("array", merges),
        "tokenizer.ggml.bos_token_id": ("uint32", 1),
        "tokenizer.ggml.eos_token_id": ("uint32", 2),
        "tokenizer.chat_template": ("string", CHAT_TEMPLATE),
    }
    metadata |= spec.extra_keys

    writer = gguf.GGUFWriter(path, arch)
    for key, (kind, value) in metadata.items():
        if key not in spec.skip_keys:
            getattr(writer, f"add_{kind}")(key, value)

    for name, shape in tensor_shapes(spec, len(tokens)).items():
        qtype = spec.tensor_types.get(name, Q.F32)
        data = random_tensor(shape, qtype, rng)
        raw_dtype = None if qtype in (Q.F32, Q.F16) else qtype
        writer.add_tensor(name, data, raw_dtype=raw_dtype)

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
