"""TFLM's requantization arithmetic, in Python, so the generated C gets the very multipliers and shifts
TFLM computes at ``Prepare`` (tensorflow/lite/kernels/internal/quantization_util.cc, kernel_util.cc).

Bit-exactness with TFLM starts here: the same double-precision products, the same ``frexp`` and the same
round-half-away-from-zero, precomputed at export into const arrays in flash.
"""

from __future__ import annotations

import math

import numpy as np

from edgeml_cmsis_nn.graph import round_half_away


def quantize_multiplier(real: float) -> tuple[int, int]:
    """``QuantizeMultiplier``: ``real`` as a Q31 significand and a power-of-two exponent."""
    if real == 0.0:
        return 0, 0
    q, shift = math.frexp(real)
    q_fixed = round_half_away(q * (1 << 31))
    if q_fixed > (1 << 31):
        raise ValueError(f"multiplier {real} does not fit Q31")
    if q_fixed == (1 << 31):
        q_fixed //= 2
        shift += 1
    if shift < -31:
        shift, q_fixed = 0, 0
    return int(q_fixed), int(shift)


def per_channel_multipliers(input_scale: float, filter_scales: np.ndarray, output_scale: float,
                            channels: int) -> tuple[np.ndarray, np.ndarray]:
    """``PopulateConvolutionQuantizationParams``: one (multiplier, shift) per output channel, from
    ``double(input_scale) * double(filter_scale) / double(output_scale)`` (float32 scales widened)."""
    scales = np.asarray(filter_scales, dtype=np.float32)
    mult = np.zeros(channels, dtype=np.int32)
    shift = np.zeros(channels, dtype=np.int32)
    for c in range(channels):
        fs = float(scales[c] if scales.size > 1 else scales[0])
        eff = float(np.float32(input_scale)) * fs / float(np.float32(output_scale))
        mult[c], shift[c] = quantize_multiplier(eff)
    return mult, shift


#: Name and C source of a static helper that is TFLM's double-rounding ``MultiplyByQuantizedMultiplier``
#: (int32 overload: gemmlowp's ``SaturatingRoundingDoublingHighMul`` then ``RoundingDivideByPOT``), for
#: generated-C lowerings. Self-contained rather than CMSIS-NN's ``arm_nn_requantize`` so that its result does
#: not depend on which inline-assembly variant a core selects, and so that a right shift of 31 (legal in TFLM,
#: e.g. MEAN over many elements) stays defined C: the mask is built in 64 bits. The left shift is done in
#: unsigned arithmetic so that it wraps as the C++ reference does in practice, without undefined behaviour.
MBQM_HELPER = "edgeml_mbqm"
MBQM_HELPER_C = """\
static inline int32_t edgeml_mbqm(int32_t x, int32_t multiplier, int32_t shift)
{
    const int32_t left = shift > 0 ? shift : 0;
    const int32_t right = shift > 0 ? 0 : -shift;
    const int32_t a = (int32_t)((uint32_t)x << left);
    int32_t high;
    if (a == multiplier && a == INT32_MIN) {
        high = INT32_MAX;
    } else {
        const int64_t ab = (int64_t)a * (int64_t)multiplier;
        const int64_t nudge = ab >= 0 ? ((int64_t)1 << 30) : (1 - ((int64_t)1 << 30));
        high = (int32_t)((ab + nudge) / ((int64_t)1 << 31));
    }
    {
        const int32_t mask = (int32_t)(((int64_t)1 << right) - 1);
        const int32_t remainder = high & mask;
        const int32_t threshold = (mask >> 1) + (high < 0 ? 1 : 0);
        return (high >> right) + (remainder > threshold ? 1 : 0);
    }
}
"""


def mean_multiplier(input_scale: float, output_scale: float, num_elements: int) -> tuple[int, int]:
    """The (multiplier, shift) TFLM's int8 MEAN applies to a sum of ``num_elements`` zero-point-shifted
    inputs: ``QuantizeMultiplier(double(in_scale) / double(out_scale))`` at Prepare, then, at Eval
    (reference_ops::QuantizedMeanOrSum), ``1/num_elements`` folded in by an integer division of the
    multiplier shifted left by ``floor(log2(num_elements))`` (clamped to 32 and to ``31 + shift``)."""
    real = float(np.float32(input_scale)) / float(np.float32(output_scale))
    mult, shift = quantize_multiplier(real)
    if num_elements <= 0:
        raise ValueError("MEAN over no element")
    s = int(num_elements).bit_length() - 1           # 63 - CountLeadingZeros(uint64 n)
    s = min(s, 32, 31 + shift)
    mult = int((mult << s) // num_elements)          # int64 division of non-negatives: truncation == floor
    return mult, shift - s


def fully_connected_multiplier(input_scale: float, filter_scale: float, output_scale: float) -> tuple[int, int]:
    """Per-tensor FULLY_CONNECTED: ``GetQuantizedConvolutionMultipler`` (kernel_util.cc) forms the product
    of the two scales in float32 *before* widening it to double (unlike the per-channel path), then divides
    by the output scale in double."""
    product = float(np.float32(input_scale) * np.float32(filter_scale))
    return quantize_multiplier(product / float(np.float32(output_scale)))


#: The integer headroom TFLM's int8 ADD gives its rescaled inputs (add_common.cc; 15 for int16).
ADD_LEFT_SHIFT = 20


def add_multipliers(input1_scale: float, input2_scale: float,
                    output_scale: float) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]]:
    """``CalculateOpDataAdd`` for int8: ((m1, s1), (m2, s2), (m_out, s_out)), every shift <= 0.

    Both inputs are rescaled to twice the larger input scale (the max taken in float32, then widened), with
    ``ADD_LEFT_SHIFT`` bits of headroom, and ``QuantizeMultiplierSmallerThanOneExp`` quantizes each real
    multiplier; it rejects a multiplier >= 1, as TFLM's Prepare does (ValueError here)."""
    s1, s2, so = (float(np.float32(v)) for v in (input1_scale, input2_scale, output_scale))
    twice_max = 2.0 * max(s1, s2)
    out = []
    for real in (s1 / twice_max, s2 / twice_max, twice_max / (float(1 << ADD_LEFT_SHIFT) * so)):
        if not 0.0 < real < 1.0:
            raise ValueError(f"ADD multiplier {real} is not in (0, 1)")
        m, s = quantize_multiplier(real)
        if s > 0:
            raise ValueError(f"ADD multiplier {real} quantized with a left shift")
        out.append((m, s))
    return out[0], out[1], out[2]
