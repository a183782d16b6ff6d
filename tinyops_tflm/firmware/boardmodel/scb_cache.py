"""System control space: SCB registers, the NVIC and SysTick windows, the
FPU's CPACR, and a coarse model of the Cortex-M7 L1 D-cache.

SCB: ARMv7-M ARM section B3.2 (CPUID, ICSR, VTOR, AIRCR, SCR, CCR, SHPR,
SHCSR, CFSR, HFSR, MMFAR, BFAR, CPACR), cache identification and maintenance
registers (CLIDR, CTR, CCSIDR, CSSELR; ICIALLU .. DCCISW, section B2.2.7),
present on the Cortex-M7 only (Cortex-M7 TRM, "Identification of the caches"; 4 KB D-cache on the
STM32F746 = 32 sets x 4 ways x 32-byte lines, CCSIDR 0xF003E019).

D-cache model (why coarse): Unicorn has no cache, so the model keeps two
views of every cacheable byte: what the CPU sees (Unicorn's memory) and what
the memory behind the cache holds (the point of coherency, "PoC", which the
DMA reads and writes). The cache is taken to be as large as memory and to
hold every line the CPU may have touched - speculative reads of Normal
memory make that the only safe assumption (ARMv7-M A3.5.x). Therefore:
- a CPU write is visible to DMA only after a clean (DCCMVAC/DCCIMVAC) of its
  line, or a whole clean + invalidate pass by set/way (DCCISW over all 128
  set/way lines, which the driver uses for transfers larger than the cache):
  a DMA read of bytes whose two views differ is a CacheCoherencyError;
- a DMA write lands in PoC only; the CPU sees it after invalidating the line
  (DCIMVAC/DCCIMVAC) *after* the transfer. Until then the line is "stale":
  a CPU read of stale bytes that differ, or any CPU write to a stale line, is
  a CacheCoherencyError (found by a memory hook over the stale lines only,
  removed once none is left);
- a DMA write over a line the CPU holds dirty (views differ) is an error: the
  eviction would later overwrite the DMA's data.
The real 4 KB cache evicts, so some of these programs would work by luck on
the board; the model reports them anyway. It cannot show timing effects.
"""

from __future__ import annotations

import numpy as np
from unicorn import UC_HOOK_MEM_READ, UC_HOOK_MEM_WRITE, UC_MEM_WRITE
from unicorn.unicorn_const import UC_CTL_TLB_FLUSH

from ...errors import BoardModelError, CacheCoherencyError
from .nvic import Nvic
from .peripheral import Peripheral
from .systick_dwt import SysTick

LINE = 32
SETS, WAYS = 32, 4
CCSIDR_M7_4K = 0xF003E019
CPUID = {"cortex-m4": 0x410FC241, "cortex-m7": 0x411FC270}


class DCache:
    def __init__(self, machine) -> None:
        self.m = machine
        self.enabled = False
        self.invalidated = set()  # set/way pairs invalidated since reset
        self.cleaned_sw = set()
        self.poc: dict[str, np.ndarray] = {}
        self.stale: dict[str, np.ndarray] = {}
        self._hook = None
        self._hook_range = None
        self.maintenance_ops = 0
        self.pending: list[tuple[str, int]] = []
        self.sw_pass: set[tuple[int, int]] = set()  # DCCISW lines of a pass in progress

    # ---- regions -------------------------------------------------------------------
    def track(self, region) -> None:
        """Start keeping a PoC view of a cacheable region (D-cache on)."""
        if region.name not in self.poc:
            self.poc[region.name] = region.view.copy()
            self.stale[region.name] = np.zeros(region.size // LINE, dtype=bool)

    def enable(self) -> None:
        missing = SETS * WAYS - len(self.invalidated)
        if missing:
            raise CacheCoherencyError(
                f"D-cache enabled with {missing} of {SETS * WAYS} set/way lines never "
                "invalidated since reset (the cache contents are UNKNOWN at reset: invalidate "
                "all by set/way first)"
            )
        self.enabled = True
        for region in self.m.cacheable_regions():
            self.track(region)

    # ---- maintenance by address ---------------------------------------------------------
    # Maintenance writes come one line at a time (hundreds of thousands per
    # inference); they are queued and applied in runs of consecutive lines
    # before anything can observe them (a DMA register access, WFI, an
    # exception entry, a CPU access to a stale line, the end of the run).
    def op(self, kind: str, addr: int) -> None:
        self.maintenance_ops += 1
        if self.enabled:
            self.pending.append((kind, addr & ~(LINE - 1)))

    def flush(self) -> None:
        if not self.pending:
            return
        ops, self.pending = self.pending, []
        kind, start, end = ops[0][0], ops[0][1], ops[0][1] + LINE
        for k, a in ops[1:]:
            if k == kind and a == end:
                end += LINE
                continue
            self._apply(kind, start, end)
            kind, start, end = k, a, a + LINE
        self._apply(kind, start, end)

    def _apply(self, kind: str, start: int, end: int) -> None:
        changed = False
        for region in self.m.cacheable_regions():
            lo, hi = max(start, region.base), min(end, region.base + region.size)
            if lo >= hi or region.name not in self.poc:
                continue
            a, b = lo - region.base, hi - region.base
            poc, view, stale = self.poc[region.name], region.view, self.stale[region.name]
            la, lb = a // LINE, (b + LINE - 1) // LINE
            if "c" in kind:
                st = stale[la:lb]
                if not st.any():
                    poc[a:b] = view[a:b]
                else:
                    for k in np.flatnonzero(~st):
                        o = (la + int(k)) * LINE
                        poc[o : o + LINE] = view[o : o + LINE]
            if "i" in kind:
                view[a:b] = poc[a:b]
                if stale[la:lb].any():
                    stale[la:lb] = False
                    changed = True
        if changed:
            self._update_hook()

    def by_set_way(self, value: int, clean: bool, invalidate: bool) -> None:
        sw = (value >> 30, (value >> 5) & (SETS - 1))
        if not self.enabled:
            if invalidate:
                self.invalidated.add(sw)
            return
        # With the cache on, the model (every touched line cached) can follow
        # only a whole pass of clean + invalidate: once all 128 set/way lines
        # are written, every line is clean and invalidated. Until then nothing
        # is applied, so a transfer observed mid-pass is judged without it.
        self.maintenance_ops += 1
        if not (clean and invalidate):
            raise BoardModelError(
                "D-cache clean-only or invalidate-only maintenance by set/way while the D-cache is on "
                "is not modelled (only a whole clean + invalidate pass, DCCISW)"
            )
        self.sw_pass.add(sw)
        if len(self.sw_pass) == SETS * WAYS:
            self.sw_pass.clear()
            self.flush()
            self._clean_invalidate_all()

    def _clean_invalidate_all(self) -> None:
        changed = False
        for region in self.m.cacheable_regions():
            if region.name not in self.poc:
                continue
            poc, view, stale = self.poc[region.name], region.view, self.stale[region.name]
            if stale.any():
                # Stale lines hold no CPU writes: nothing to clean, the
                # invalidate shows the CPU what the DMA wrote.
                kept = np.repeat(stale, LINE)
                np.copyto(poc, view, where=~kept)
                view[kept] = poc[kept]
                stale[:] = False
                changed = True
            else:
                poc[:] = view
        if changed:
            self._update_hook()

    # ---- DMA side ----------------------------------------------------------------------
    def dma_read(self, region, off: int, n: int, who: str) -> np.ndarray:
        self.flush()
        poc = self.poc[region.name]
        diff = np.flatnonzero(region.view[off : off + n] != poc[off : off + n])
        if diff.size:
            lines = np.unique((off + diff) // LINE)
            dirty = lines[~self.stale[region.name][lines]]
            if dirty.size:
                a = region.base + int(dirty[0]) * LINE
                raise CacheCoherencyError(
                    f"{who} reads {region.base + off:#010x}+{n}: {dirty.size} line(s) from "
                    f"{a:#010x} hold CPU writes that were never cleaned to memory (missing D-cache "
                    "clean, DCCMVAC, before the transfer)"
                )
        return poc[off : off + n].copy()

    def dma_write(self, region, off: int, data: np.ndarray, who: str) -> None:
        self.flush()
        poc, view, stale = self.poc[region.name], region.view, self.stale[region.name]
        first, last = off // LINE, (off + data.size - 1) // LINE
        lo, hi = first * LINE, (last + 1) * LINE
        dirty_bytes = view[lo:hi] != poc[lo:hi]
        if dirty_bytes.any():
            lines = np.unique(np.flatnonzero(dirty_bytes) // LINE) + first
            dirty = lines[~stale[lines]]
            if dirty.size:
                a = region.base + int(dirty[0]) * LINE
                raise CacheCoherencyError(
                    f"{who} writes {region.base + off:#010x}+{data.size} over {dirty.size} "
                    f"line(s) from {a:#010x} that the CPU holds dirty in its D-cache (no clean + "
                    "invalidate before the transfer: the eviction would overwrite the DMA data)"
                )
        poc[off : off + data.size] = data
        stale[first : last + 1] = True
        self._update_hook()

    # ---- CPU accesses to stale lines -------------------------------------------------------
    def _update_hook(self) -> None:
        lo = hi = None
        for region in self.m.cacheable_regions():
            st = self.stale.get(region.name)
            if st is None:
                continue
            idx = np.flatnonzero(st)
            if idx.size:
                a, b = region.base + int(idx[0]) * LINE, region.base + (int(idx[-1]) + 1) * LINE - 1
                lo = a if lo is None else min(lo, a)
                hi = b if hi is None else max(hi, b)
        want = None if lo is None else (lo, hi)
        if want == self._hook_range:
            return
        if self._hook is not None:
            self.m.uc.hook_del(self._hook)
            self._hook = None
        if want is not None:
            self._hook = self.m.uc.hook_add(
                UC_HOOK_MEM_READ | UC_HOOK_MEM_WRITE, self._on_access, begin=want[0], end=want[1]
            )
        self._hook_range = want
        # Unicorn decides at TLB fill whether an access goes through the memory
        # hooks: pages already in the TLB would bypass a new hook.
        self.m.uc._Uc__ctl_w(UC_CTL_TLB_FLUSH)

    def _on_access(self, uc, access, addr, size, value, user_data):
        try:
            self.flush()
            region = self.m.cacheable_region_at(addr)
            if region is None:
                return
            off = addr - region.base
            stale = self.stale[region.name]
            lines = range(off // LINE, (off + size - 1) // LINE + 1)
            if not any(stale[k] for k in lines):
                return
            if access == UC_MEM_WRITE:
                raise CacheCoherencyError(
                    f"CPU wrote {addr:#010x} (pc {self.m.pc():#010x}) in a line the DMA wrote "
                    "and the CPU has not invalidated since: the dirty line would later overwrite "
                    "the DMA data"
                )
            poc = self.poc[region.name]
            if (region.view[off : off + size] != poc[off : off + size]).any():
                raise CacheCoherencyError(
                    f"CPU read {addr:#010x} (pc {self.m.pc():#010x}) which the DMA wrote after "
                    "the CPU last invalidated the line: it reads stale cached data (missing "
                    "D-cache invalidate, DCIMVAC, after the transfer)"
                )
        except BoardModelError as err:
            self.m.fail(err)


class Scs(Peripheral):
    """0xE000E000..0xE000EFFF."""

    name = "SCS"
    base = 0xE000E000
    size = 0x1000

    def __init__(self, machine) -> None:
        super().__init__(machine)
        self.nvic = Nvic()
        self.systick = SysTick()
        m7 = machine.spec.core == "cortex-m7"
        self.dcache = DCache(machine) if m7 else None
        self.r = {
            0xD04: 0,
            0xD08: 0,
            0xD0C: 0xFA050000,
            0xD10: 0,
            0xD14: 0x200,
            0xD18: 0,
            0xD1C: 0,
            0xD20: 0,
            0xD24: 0,
            0xD28: 0,
            0xD2C: 0,
            0xD30: 0,
            0xD34: 0,
            0xD38: 0,
            0xD3C: 0,
            0xD88: 0,
            0xF34: 0xC0000000,
            0xF38: 0,
            0xF3C: 0,
        }
        if m7:
            self.r.update({0xD78: 0x09000003, 0xD7C: 0x8303C003, 0xD84: 0})
        self.icache_on = False

    @property
    def vtor(self) -> int:
        return self.r[0xD08]

    def exception_priority(self, exc: int) -> int:
        if exc >= 16:
            return self.nvic.priority[exc - 16]
        return -1 if exc == 3 else 0  # HardFault fixed -1; others not used by the ports

    def read(self, off: int, size: int) -> int:
        if 0x010 <= off < 0x020:
            return self.systick.read(off & ~3)
        if 0x100 <= off < 0x500:
            return self.nvic.read(off - 0x100, size)
        if off == 0xD00:
            return CPUID[self.m.spec.core]
        if off == 0xD80 and self.dcache is not None:
            return CCSIDR_M7_4K if self.r[0xD84] == 0 else 0xF01FE019  # D-cache / I-cache 4 KB
        if off == 0xDFC:
            return self.m.dwt.demcr
        if (off & ~3) in self.r:
            word = self.r[off & ~3]
            if off & ~3 == 0xD14 and self.dcache is not None:
                word |= (int(self.dcache.enabled) << 16) | (int(self.icache_on) << 17)
            return (word >> (8 * (off & 3))) & ((1 << (8 * size)) - 1)
        return super().read32(off)

    def write(self, off: int, size: int, value: int) -> None:
        if 0xF50 <= off <= 0xF78:
            self._maintenance(off, value)
            return
        if 0x010 <= off < 0x020:
            self.systick.write(off, value)
            return
        if 0x100 <= off < 0x500:
            self.nvic.write(off - 0x100, size, value)
            self.m.interrupts_changed()
            return
        if off == 0xDFC:
            self.m.dwt.demcr = value
            return
        if 0xF50 <= off <= 0xF78:
            self._maintenance(off, value)
            return
        if size != 4 and off & ~3 not in self.r:
            raise BoardModelError(f"SCS {size}-byte write at {self.base + off:#010x}")
        if (off & ~3) not in self.r:
            super().write32(off, value)
        if off == 0xD14:
            self._write_ccr(value)
            return
        if off == 0xD0C:
            if (value >> 16) != 0x05FA:
                return  # AIRCR writes need the VECTKEY
            if value & 4:
                raise BoardModelError("SYSRESETREQ: the firmware asked for a system reset")
            self.r[0xD0C] = 0xFA050000 | (value & 0x700)
            return
        if size == 4:
            self.r[off] = value
        else:
            shift = 8 * (off & 3)
            mask = ((1 << (8 * size)) - 1) << shift
            self.r[off & ~3] = (self.r[off & ~3] & ~mask) | ((value << shift) & mask)

    def _write_ccr(self, value: int) -> None:
        if self.dcache is None:
            if value & (3 << 16):
                raise BoardModelError("CCR.DC/IC set on a Cortex-M4 (no caches)")
            self.r[0xD14] = value
            return
        dc = bool(value >> 16 & 1)
        if dc and not self.dcache.enabled:
            self.dcache.enable()
        elif not dc and self.dcache.enabled:
            raise BoardModelError("D-cache disabled after being enabled: not modelled")
        ic = bool(value >> 17 & 1)
        if ic and not self.icache_on and not self._icache_invalidated:
            raise CacheCoherencyError("I-cache enabled without ICIALLU first (contents UNKNOWN at reset)")
        self.icache_on = ic
        self.r[0xD14] = value & ~(3 << 16)

    _icache_invalidated = False

    def _maintenance(self, off: int, value: int) -> None:
        if self.dcache is None:
            raise BoardModelError(
                f"cache maintenance register {self.base + off:#010x} written on a Cortex-M4 (it has no caches)"
            )
        dc = self.dcache
        if off == 0xF50:  # ICIALLU
            self._icache_invalidated = True
        elif off in (0xF58, 0xF78):  # ICIMVAU, BPIALL
            pass
        elif off == 0xF5C:  # DCIMVAC
            dc.op("i", value)
        elif off in (0xF64, 0xF68):  # DCCMVAU, DCCMVAC
            dc.op("c", value)
        elif off == 0xF70:  # DCCIMVAC
            dc.op("ci", value)
        elif off == 0xF60:  # DCISW
            dc.by_set_way(value, clean=False, invalidate=True)
        elif off == 0xF6C:  # DCCSW
            dc.by_set_way(value, clean=True, invalidate=False)
        elif off == 0xF74:  # DCCISW
            dc.by_set_way(value, clean=True, invalidate=True)
        else:
            raise BoardModelError(f"write to reserved cache maintenance address {self.base + off:#010x}")
