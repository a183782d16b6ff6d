"""tools/profile_firmware.py: the QEMU plugin's per-block profile attributes
every executed guest instruction of a firmware run to an ELF function.

Runs the demo model's firmware on the emulated Cortex-M4 board once with the
profile and checks that the blocks account for exactly the instructions the
plugin counts for the run plus the emulated DMA's copies, which the counts
leave out (the same inline counters), that the invoke's
kernels appear under their own names, and the attribution arithmetic on a
hand-made profile. Needs the Arm toolchain and QEMU (skips, saying so).
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from support.firmware import arm_tools_missing, skip_without

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "tinyops_tflm" / "data" / "demo_tiny.tflite"


def _tool():
    spec = importlib.util.spec_from_file_location("profile_firmware", ROOT / "tools" / "profile_firmware.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_blocks_are_attributed_to_the_function_that_holds_them():
    tool = _tool()
    symbols = {"f": (0x100, 0x40), "g": (0x141, 0x20), "empty": (0x300, 0)}  # g: Thumb bit set
    rows = [(0x100, 4, 10), (0x13C, 2, 1), (0x140, 3, 5), (0x15E, 1, 2), (0x400, 5, 1)]
    totals, blocks = tool.by_function(rows, symbols)
    assert totals == {"f": 42, "g": 17, "?": 5}
    assert blocks[0][:3] == (40, "f", 0) and blocks[1][:3] == (15, "g", 0)


@skip_without(arm_tools_missing(), "tests/test_profile_firmware.py", "the firmware profile test")
def test_profile_accounts_for_every_executed_instruction(fw_cache, tmp_path):
    from tinyops_tflm.firmware.emulate import emulate
    from tinyops_tflm.firmware.qemu import PROFILE_ENV
    from tinyops_tflm.firmware.toolchain import _symbols, find_tools
    from tinyops_tflm.testing.environ import environ

    tool = _tool()
    prof = tmp_path / "demo.prof"
    with environ(**{PROFILE_ENV: str(prof)}):
        result = emulate(DEMO.read_bytes(), "stm32f469")
    assert result.invoke_instructions, "no instruction counts (the QEMU plugin needs a host C compiler)"
    rows, copies = tool.read_profile(prof)
    assert rows and all(n > 0 and count > 0 for _, n, count in rows)
    totals, _ = tool.by_function(rows, _symbols(find_tools(), Path(result.elf)))
    executed = sum(totals.values())
    # The demo's partitioned plan streams tiles: the emulated DMA's copies run
    # as blocks, and the counts leave them out.
    assert copies > 0
    assert executed == result.program_instructions + copies
    kernels = sum(v for name, v in totals.items() if "arm_kernels" in name)
    assert 0 < kernels < result.invoke_instructions
    assert PROFILE_ENV not in os.environ
