"""Our dequantization against gguf.quants.dequantize, the gguf package's reference."""

from __future__ import annotations

import numpy as np
import pytest
from gguf import GGML_QUANT_SIZES, GGMLQuantizationType
from gguf import quants as gguf_quants

from app.llm import quants
from app.llm.errors import GGUFFormatError

# Byte offsets of the float16 scales inside one block of each format.
SCALE_OFFSETS = {
    GGMLQuantizationType.Q8_0: (0,),
    GGMLQuantizationType.Q4_0: (0,),
    GGMLQuantizationType.Q4_1: (0, 2),
    GGMLQuantizationType.Q5_0: (0,),
    GGMLQuantizationType.Q5_1: (0, 2),
    GGMLQuantizationType.Q4_K: (0, 2),
    GGMLQuantizationType.Q6_K: (208,),
}


def max_difference(ours: np.ndarray, reference: np.ndarray) -> float:
    assert ours.shape == reference.shape
    assert ours.dtype == np.float32
    return float(np.max(np.abs(ours.astype(np.float64) - reference.astype(np.float64)), initial=0.0))


def test_file_tensors_equal_gguf_reference(gguf_reader):
    types_seen = set()
    for tensor in gguf_reader.tensors:
        ours = quants.dequantize(tensor.data, tensor.tensor_type, tensor.shape)
        reference = gguf_quants.dequantize(tensor.data, tensor.tensor_type)
        error = max_difference(ours, reference)
        assert error == 0.0, f"{tensor.name} ({tensor.tensor_type.name}): max abs difference {error}"
        types_seen.add(tensor.tensor_type.name)
    assert types_seen == {"F32", "Q8_0", "Q4_1"}


def test_file_tensor_shape_is_reversed_ne(gguf_reader):
    tensor = next(t for t in gguf_reader.tensors if t.name == "blk.0.ffn_down.weight")
    assert list(tensor.shape) == [1536, 576]  # ne order: row length first
    assert quants.dequantize(tensor.data, tensor.tensor_type, tensor.shape).shape == (576, 1536)


def random_blocks(qtype: GGMLQuantizationType, n_rows: int, row_length: int, seed: int) -> np.ndarray:
    """Return random raw bytes for a quantized tensor, with finite float16 scales."""
    rng = np.random.default_rng(seed)
    block_elements, block_bytes = GGML_QUANT_SIZES[qtype]
    n_blocks = n_rows * row_length // block_elements
    blocks = rng.integers(0, 256, size=(n_blocks, block_bytes), dtype=np.uint8)
    for offset in SCALE_OFFSETS[qtype]:
        scales = rng.normal(0.0, 0.05, size=n_blocks).astype("<f2")
        blocks[:, offset : offset + 2] = scales.view(np.uint8).reshape(n_blocks, 2)
    return blocks.reshape(n_rows, -1)


@pytest.mark.parametrize("qtype", list(SCALE_OFFSETS), ids=lambda t: t.name)
def test_random_blocks_equal_gguf_reference(qtype):
    row_length = 2 * GGML_QUANT_SIZES[qtype][0]
    raw = random_blocks(qtype, n_rows=64, row_length=row_length, seed=int(qtype))

    ours = quants.dequantize(raw, qtype, [row_length, 64])
    reference = gguf_quants.dequantize(raw, qtype)

    error = max_difference(ours, reference)
    assert error == 0.0, f"{qtype.name}: max abs difference {error}"


@pytest.mark.parametrize("qtype", [GGMLQuantizationType.Q8_0, GGMLQuantizationType.Q4_0, GGMLQuantizationType.Q4_1])
def test_quantized_weights_round_trip_within_block_error(qtype):
    rng = np.random.default_rng(7)
    weights = rng.normal(0.0, 0.02, size=(16, 256)).astype(np.float32)
    raw = gguf_quants.quantize(weights, qtype)

    ours = quants.dequantize(raw, qtype, [256, 16])

    assert max_difference(ours, gguf_quants.dequantize(raw, qtype)) == 0.0
    # rounding moves a weight by at most half a quantization step: absmax/254 for
    # Q8_0, absmax/16 for Q4_0, range/30 for Q4_1, all within range/steps below
    steps = 254 if qtype == GGMLQuantizationType.Q8_0 else 15
    block_range = np.ptp(weights.reshape(-1, 32), axis=1).max()
    assert max_difference(ours, weights) <= block_range / steps


@pytest.mark.parametrize(
    ("qtype", "values"),
    [
        (GGMLQuantizationType.F32, np.array([[1.5, -2.25], [3.0, 1e-8]], dtype="<f4")),
        (GGMLQuantizationType.F16, np.array([[1.5, -2.25], [65504.0, 6e-5]], dtype="<f2")),
    ],
    ids=["F32", "F16"],
)
def test_float_tensors_widen_to_float32(qtype, values):
    ours = quants.dequantize(values, qtype, [2, 2])
    assert max_difference(ours, gguf_quants.dequantize(values, qtype)) == 0.0
    np.testing.assert_array_equal(ours, values.astype(np.float32))


def test_bf16_is_top_half_of_float32():
    values = np.array([1.0, -3.140625, 1e20, 0.0078125], dtype=np.float32)
    raw = (values.view(np.uint32) >> 16).astype("<u2")

    ours = quants.dequantize(raw, GGMLQuantizationType.BF16, [4])

    assert max_difference(ours, gguf_quants.dequantize(raw.view(np.uint8), GGMLQuantizationType.BF16).reshape(4)) == 0.0
    np.testing.assert_array_equal(ours[:2], [1.0, -3.140625])


def test_unsupported_type_raises():
    raw = np.zeros(66, dtype=np.uint8)
    with pytest.raises(GGUFFormatError, match="unsupported tensor type IQ2_XXS"):
        quants.dequantize(raw, GGMLQuantizationType.IQ2_XXS, [256])


def test_partial_block_row_raises():
    raw = np.zeros(34 * 2, dtype=np.uint8)
    with pytest.raises(GGUFFormatError, match="row length 48"):
        quants.dequantize(raw, GGMLQuantizationType.Q8_0, [48, 1])


def test_short_buffer_raises():
    raw = np.zeros(34 * 3, dtype=np.uint8)
    with pytest.raises(GGUFFormatError, match="needs 136 bytes, got 102"):
        quants.dequantize(raw, GGMLQuantizationType.Q8_0, [64, 2])
