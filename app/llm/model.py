"""Llama decoder in PyTorch with a preallocated KV cache, loaded from GGUF.

Dtypes: every weight is dequantized once at load into float32 and kept as a
plain float32 nn.Parameter. The 4/8-bit blocks of the file are not used at
matmul time, so memory is 4 bytes per parameter (about 540 MB for a 135M model).
All activations, the KV cache and the logits are float32 too.

Rotary layout: in GGUF files the rows of attn_q and attn_k pair dimensions
(2i, 2i+1) of each head for rotation, the original Meta layout, whereas Hugging
Face checkpoints pair (i, i + head_dim/2). llama.cpp's converter permutes the
rows, and transformers permutes them back when it loads a GGUF. This module
keeps the file's rows and rotates adjacent pairs, which gives the same
attention scores (checked against transformers in tests/llm).
"""

from __future__ import annotations

import logging

import gguf
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from app.llm import quants
from app.llm.errors import GGUFFormatError
from app.llm.gguf_file import LlamaConfig, read_tensor

logger = logging.getLogger(__name__)

# GGUF tensor name -> module parameter name. No tensor is permuted or transposed:
# a GGUF shape [in, out] (ne order) is the numpy/PyTorch shape (out, in) that
# nn.Linear stores, and rotary pairs follow the file's row order (see above).
GLOBAL_TENSORS = {
    "token_embd.weight": "tok_embeddings.weight",
    "output_norm.weight": "norm.weight",
    "output.weight": "output.weight",  # absent when the output head is tied to token_embd
}
LAYER_TENSORS = {
    "blk.{i}.attn_norm.weight": "layers.{i}.attention_norm.weight",
    "blk.{i}.attn_q.weight": "layers.{i}.attention.wq.weight",
    "blk.{i}.attn_k.weight": "layers.{i}.attention.wk.weight",
    "blk.{i}.attn_v.weight": "layers.{i}.attention.wv.weight",
    "blk.{i}.attn_output.weight": "layers.{i}.attention.wo.weight",
    "blk.{i}.ffn_norm.weight": "layers.{i}.ffn_norm.weight",
    "blk.{i}.ffn_gate.weight": "layers.{i}.feed_forward.w1.weight",
    "blk.{i}.ffn_up.weight": "layers.{i}.feed_forward.w3.weight",
    "blk.{i}.ffn_down.weight": "layers.{i}.feed_forward.w2.weight",
}


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: Tensor) -> Tensor:
        # x / sqrt(mean(x^2) + eps) * weight, always in float32
        x = x.float()
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))


class KVCache(nn.Module):
    """Keys and values of past positions of one sequence, in buffers sized once for the whole context."""

    def __init__(self, n_kv_heads: int, max_seq_length: int, head_dim: int) -> None:
        super().__init__()
        shape = (1, n_kv_heads, max_seq_length, head_dim)  # (batch, heads, position, head_dim)
        self.register_buffer("k_cache", torch.zeros(shape), persistent=False)
        self.register_buffer("v_cache", torch.zeros(shape), persistent=False)

    def update(self, input_pos: Tensor, k: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
        """Write k and v at input_pos and return views of positions 0 .. input_pos[-1].

        input_pos must be ascending; positions past input_pos[-1] may hold stale
        values from an earlier sequence and are never returned.
        """
        # input_pos: (T,), k, v: (1, n_kv_heads, T, head_dim)
        self.k_cache[:, :, input_pos] = k
        self.v_cache[:, :, input_pos] = v
        end = int(input_pos[-1]) + 1
        return self.k_cache[:, :, :end], self.v_cache[:, :, :end]  # (1, n_kv_heads, end, head_dim)


class Attention(nn.Module):
    def __init__(self, config: LlamaConfig) -> None:
        super().__init__()
        self.n_heads = config.n_heads
        self.n_kv_heads = config.n_kv_heads
        self.head_dim = config.head_dim
        self.wq = nn.Linear(config.dim, config.n_heads * config.head_dim, bias=False)
        self.wk = nn.Linear(config.dim, config.n_kv_heads * config.head_dim, bias=False)
        self.wv = nn.Linear(config.dim, config.n_kv_heads * config.head_dim, bias=False)
        self.wo = nn.Linear(config.n_heads * config.head_dim, config.dim, bias=False)
        self.kv_cache: KVCache | None = None

    def forward(self, x: Tensor, rope: tuple[Tensor, Tensor], mask: Tensor, input_pos: Tensor) -> Tensor:
        batch, seq_len, _ = x.shape  # (1, T, dim)
        q = self.wq(x).view(batch, seq_len, self.n_heads, self.head_dim)
        k = self.wk(x).view(batch, seq_len, self.n_kv_heads, self.head_dim)
        v = self.wv(x).view(batch, seq_len, self.n_kv_heads, self.head_dim)

        q = apply_rotary_emb(q, *rope)
        k = apply_rotary_emb(k, *rope)

        q, k, v = (t.transpose(1, 2) for t in (q, k, v))  # (1, heads, T, head_dim)
        if self.kv_cache is not None:
            k, v = self.kv_cache.update(input_pos, k, v)  # (1, n_kv_heads, S, head_dim)

        # grouped-query attention: query head h reads key/value head h // (n_heads / n_kv_heads).
        # enable_gqa does that without copying the cached keys and values per query head.
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, enable_gqa=True)  # (1, n_heads, T, head_dim)

        y = y.transpose(1, 2).reshape(batch, seq_len, self.n_heads * self.head_dim)
        return self.wo(y)  # (1, T, dim)


class FeedForward(nn.Module):
    def __init__(self, config: LlamaConfig) -> None:
        super().__init__()
        self.w1 = nn.Linear(config.dim, config.ffn_dim, bias=False)  # gate
        self.w3 = nn.Linear(config.dim, config.ffn_dim, bias=False)  # up
        self.w2 = nn.Linear(config.ffn_dim, config.dim, bias=False)  # down

    def forward(self, x: Tensor) -> Tensor:
        # SwiGLU: down(silu(gate(x)) * up(x))
        return self.w2(F.silu(self.w1(x)) * self.w3(x))


class TransformerBlock(nn.Module):
    def __init__(self, config: LlamaConfig) -> None:
        super().__init__()
        self.attention_norm = RMSNorm(config.dim, config.norm_eps)
        self.attention = Attention(config)
        self.ffn_norm = RMSNorm(config.dim, config.norm_eps)
        self.feed_forward = FeedForward(config)

    def forward(self, x: Tensor, rope: tuple[Tensor, Tensor], mask: Tensor, input_pos: Tensor) -> Tensor:
        h = x + self.attention(self.attention_norm(x), rope, mask, input_pos)
        return h + self.feed_forward(self.ffn_norm(h))


class Transformer(nn.Module):
    def __init__(self, config: LlamaConfig) -> None:
        super().__init__()
        self.config = config
        self.tok_embeddings = nn.Embedding(config.vocab_size, config.dim)
        self.layers = nn.ModuleList(TransformerBlock(config) for _ in range(config.n_layers))
        self.norm = RMSNorm(config.dim, config.norm_eps)
        self.output = nn.Linear(config.dim, config.vocab_size, bias=False)
        self.max_seq_length = 0

    def setup_caches(self, max_seq_length: int) -> None:
        """Allocate the KV cache and rotary tables for max_seq_length positions.

        Calling it again with the same length keeps the existing buffers.
        """
        if not 0 < max_seq_length <= self.config.context_length:
            raise ValueError(
                f"max_seq_length must be in 1..{self.config.context_length} (the model's context length), "
                f"got {max_seq_length}"
            )
        if max_seq_length == self.max_seq_length:
            return
        self.max_seq_length = max_seq_length
        head_dim = self.config.head_dim
        for layer in self.layers:
            layer.attention.kv_cache = KVCache(self.config.n_kv_heads, max_seq_length, head_dim)
        cos, sin = precompute_rope(max_seq_length, head_dim, self.config.rope_base)
        self.register_buffer("rope_cos", cos, persistent=False)  # (max_seq_length, head_dim / 2)
        self.register_buffer("rope_sin", sin, persistent=False)
        logger.info("allocated a KV cache of %d positions", max_seq_length)

    def forward(self, idx: Tensor, input_pos: Tensor) -> Tensor:
        """Compute logits for tokens idx at positions input_pos, updating the KV cache.

        Args:
            idx: (1, T) token ids.
            input_pos: (T,) ascending positions of those tokens; every position
                before input_pos[0] must already be in the cache.

        Returns:
            (1, T, vocab_size) float32 logits.
        """
        if self.max_seq_length == 0:
            raise RuntimeError("call setup_caches() before forward()")
        rope = (self.rope_cos[input_pos], self.rope_sin[input_pos])  # (T, head_dim / 2) each
        key_pos = torch.arange(int(input_pos[-1]) + 1)
        mask = key_pos[None, :] <= input_pos[:, None]  # (T, S): causal, True = may attend

        x = self.tok_embeddings(idx)  # (1, T, dim)
        for layer in self.layers:
            x = layer(x, rope, mask, input_pos)
        x = self.norm(x)
        return self.output(x)  # (1, T, vocab_size)


def precompute_rope(max_seq_length: int, head_dim: int, base: float) -> tuple[Tensor, Tensor]:
    """Return cos and sin of the rotary angles pos * base^(-2i / head_dim), each (positions, head_dim / 2)."""
    # float64 keeps the angle exact to float32 precision at large positions
    inv_freq = 1.0 / (base ** (torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim))
    angles = torch.outer(torch.arange(max_seq_length, dtype=torch.float64), inv_freq)
    return angles.cos().float(), angles.sin().float()


def apply_rotary_emb(x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    """Rotate each adjacent pair (x[2i], x[2i+1]) of every head by its position's angle i."""
    # x: (1, T, heads, head_dim), cos/sin: (T, head_dim / 2)
    pairs = x.float().unflatten(-1, (-1, 2))  # (1, T, heads, head_dim / 2, 2)
    x0, x1 = pairs[..., 0], pairs[..., 1]
    cos = cos[None, :, None, :]
    sin = sin[None, :, None, :]
    rotated = torch.stack([x0 * cos - x1 * sin, x1 * cos + x0 * sin], dim=-1)
    return rotated.flatten(-2).type_as(x)


def expected_tensor_names(config: LlamaConfig) -> dict[str, str]:
    """Map each GGUF tensor name the model needs to its module parameter name."""
    table = dict(GLOBAL_TENSORS)
    for i in range(config.n_layers):
        for gguf_name, param_name in LAYER_TENSORS.items():
            table[gguf_name.format(i=i)] = param_name.format(i=i)
    return table


def load_transformer(reader: gguf.GGUFReader, config: LlamaConfig) -> Transformer:
    """Build a Transformer and fill it with the file's weights, dequantized to float32.

    Raises:
        GGUFFormatError: a tensor is missing, unexpected, of unsupported type or of the wrong shape.
    """
    with torch.device("meta"):
        model = Transformer(config)
    expected_shapes = {name: tuple(p.shape) for name, p in model.named_parameters()}

    table = expected_tensor_names(config)
    tensors = {tensor.name: tensor for tensor in reader.tensors}
    _check_tensors(reader, table, tensors, expected_shapes)

    state_dict = {table[name]: torch.from_numpy(read_tensor(reader, tensor)) for name, tensor in tensors.items()}

    tied = "output.weight" not in state_dict
    if tied:
        state_dict["output.weight"] = state_dict["tok_embeddings.weight"]
    model.load_state_dict(state_dict, strict=True, assign=True)
    if tied:
        model.output.weight = model.tok_embeddings.weight  # one Parameter, shared
    model.requires_grad_(False)
    model.eval()
    logger.info("loaded %d tensors (output head %s)", len(tensors), "tied to token_embd" if tied else "separate")
    return model


def _check_tensors(
    reader: gguf.GGUFReader,
    table: dict[str, str],
    tensors: dict[str, gguf.ReaderTensor],
    expected_shapes: dict[str, tuple[int, ...]],
) -> None:
    """Check names, types and shapes of all tensors before any is dequantized."""
    optional = {"output.weight"}
    missing = sorted(set(table) - set(tensors) - optional)
    unexpected = sorted(set(tensors) - set(table))
    if missing:
        raise GGUFFormatError(
            f"{reader.data.filename}: missing tensors: {', '.join(missing[:5])} ({len(missing)} in all); "
            "the file is not a complete Llama model"
        )
    if unexpected:
        raise GGUFFormatError(
            f"{reader.data.filename}: unexpected tensors for a plain Llama model: {', '.join(unexpected[:5])} "
            f"({len(unexpected)} in all); this runtime does not implement the feature they belong to"
        )
    for tensor in tensors.values():
        if tensor.tensor_type not in quants.SUPPORTED_TYPES:
            supported = ", ".join(sorted(t.name for t in quants.SUPPORTED_TYPES))
            raise GGUFFormatError(
                f"{reader.data.filename}: tensor {tensor.name!r} has unsupported type {tensor.tensor_type.name}; "
                f"supported types: {supported}"
            )
        # GGUF lists dimensions fastest-varying first, the reverse of PyTorch's order
        shape = tuple(int(n) for n in reversed(tensor.shape))
        expected = expected_shapes[table[tensor.name]]
        if shape != expected:
            raise GGUFFormatError(
                f"{reader.data.filename}: tensor {tensor.name!r} has shape {shape}, "
                f"expected {expected} from the metadata"
            )
