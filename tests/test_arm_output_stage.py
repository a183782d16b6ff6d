"""The output stage of the Arm DSP convolution kernels
(csrc/kernels/arm/output_stage.h: requantization, output offset and the
fused activation clamp folded into SMMLAR / QADD / SSAT), checked on the host:
tests/cpp/output_stage_harness.cc instantiates the very formulas over portable
emulations of the instructions and compares them with TFLM's generic stage
for thousands of parameter sets (multipliers from random scales and raw ones
with every right shift, random offsets, every kind of activation range) and
accumulators at the int32 extremes, of every magnitude, and around every
output value's rounding boundaries. Built with g++ (plus a UBSan build).
"""

from __future__ import annotations

from support import cxx

SOURCES = cxx.kernel_sources("quant.cc")


def test_output_stage_exhaustive_vs_reference():
    """arm/output_stage.h (the DSP kernels' requantization) over emulated
    instructions vs TFLM's generic stage (tests/cpp/output_stage_harness.cc)."""
    line = cxx.ok_line(cxx.build("output_stage_harness.cc", SOURCES, ["-O2"], tag="o2"), 3000)
    print("\n" + line)
    fields = dict(kv.split("=") for kv in line.split()[1:])
    for k in ("high", "range", "plain", "high_full_range", "refused"):
        assert int(fields[k]) > 0, line


def test_output_stage_ubsan():
    cxx.ok_line(cxx.build_ubsan("output_stage_harness.cc", SOURCES), 300)
