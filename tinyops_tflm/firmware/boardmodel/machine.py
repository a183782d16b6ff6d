"""The board model: Unicorn as the Cortex-M4/M7 core, the board's memory map,
the peripheral models on MMIO windows, exception entry/return and the run
loop.

Only peripheral registers go through Python (Unicorn MMIO callbacks); RAM,
flash, SDRAM and the QSPI window are host memory mapped into Unicorn, so the
kernels run at Unicorn's native speed. Extra Python hooks, all narrow: one
code hook per WFI instruction and after each CPSIE, one on board_exit, and -
on the Cortex-M7 with the D-cache on - a memory hook over DMA-written lines
the CPU has not invalidated yet, present only while such lines exist.

Exception entry is emulated here (Unicorn's M-profile core has no NVIC): the
8-word frame (26 with the FP context when CONTROL.FPCA is set) is pushed on
MSP with the 8-byte alignment of CCR.STKALIGN, LR gets EXC_RETURN and PC the
handler from the vector table at VTOR (ARMv7-M ARM B1.5.6). Unicorn reports
the branch to EXC_RETURN as an exception-exit event; the frame is popped
here (B1.5.8). Faults of the core stop the run with a named error instead of
entering the firmware's fault handlers.
"""

from __future__ import annotations

import ctypes
import struct
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from unicorn import (
    UC_ARCH_ARM,
    UC_HOOK_CODE,
    UC_HOOK_INTR,
    UC_HOOK_MEM_FETCH_PROT,
    UC_HOOK_MEM_UNMAPPED,
    UC_HOOK_MEM_WRITE_PROT,
    UC_MEM_WRITE_UNMAPPED,
    UC_MODE_MCLASS,
    UC_MODE_THUMB,
    UC_PROT_ALL,
    UC_PROT_EXEC,
    UC_PROT_READ,
    UC_PROT_WRITE,
    Uc,
    UcError,
)
from unicorn import arm_const as A

from ...errors import BoardModelError, BusFaultError, DmaBusError, FirmwareHang, QspiError, SdramError
from .boards import BoardSpec, MemRegion, board_spec
from .dma2 import Dma1, Dma2
from .elf import read_elf
from .fmc_sdram import FmcSdram
from .gpio_syscfg import Gpio, Syscfg
from .quadspi import Quadspi
from .rcc_flash_pwr import FlashInterface, Pwr, Rcc
from .scb_cache import Scs
from .systick_dwt import Dwt
from .usart import Usart

QSPI_BASE, QSPI_SIZE = 0x90000000, 16 << 20
EXIT_SYMBOL = "_ZN12tinyops_port10board_exitEi"
EXCP_EXCEPTION_EXIT = 8


class Region:
    """A memory backed by host bytes that Unicorn maps directly."""

    def __init__(self, spec: MemRegion, fill: int = 0) -> None:
        self.spec = spec
        self.name, self.base, self.size = spec.name, spec.base, spec.size
        self.buf = (ctypes.c_uint8 * spec.size)()
        self.view = np.frombuffer(self.buf, dtype=np.uint8)
        if fill:
            self.view[:] = fill

    @property
    def ptr(self) -> int:
        return ctypes.addressof(self.buf)

    def contains(self, addr: int, n: int) -> bool:
        return self.base <= addr and addr + n <= self.base + self.size


@dataclass
class RunResult:
    exit_code: int
    console: str
    seconds: float
    interrupts: int
    dma_transfers: int
    dma_bytes: int
    cache_maintenance_ops: int


class Machine:
    def __init__(self, board: str | BoardSpec, elf_path: str | Path) -> None:
        self.spec = board if isinstance(board, BoardSpec) else board_spec(board)
        self.elf = read_elf(elf_path)
        m7 = self.spec.core == "cortex-m7"
        self.uc = uc = Uc(UC_ARCH_ARM, UC_MODE_THUMB | UC_MODE_MCLASS)
        uc.ctl_set_cpu_model(A.UC_CPU_ARM_CORTEX_M7 if m7 else A.UC_CPU_ARM_CORTEX_M4)
        self.error: BaseException | None = None
        self._stop_reasons: set[str] = set()
        self._exc_return = 0
        self._frames: list[tuple[int, bool]] = []
        self.exit_code: int | None = None
        self.interrupts_taken = 0

        # ---- memories ---------------------------------------------------------------
        self.flash = Region(self.spec.flash, fill=0xFF)
        uc.mem_map_ptr(self.flash.base, self.flash.size, UC_PROT_READ | UC_PROT_EXEC, self.flash.ptr)
        if self.spec.boot_alias != self.flash.base:
            uc.mem_map_ptr(self.spec.boot_alias, self.flash.size, UC_PROT_READ | UC_PROT_EXEC, self.flash.ptr)
        self.rams = [Region(r) for r in self.spec.rams]
        for r in self.rams:
            uc.mem_map_ptr(r.base, r.size, UC_PROT_ALL if r.spec.executable else UC_PROT_READ | UC_PROT_WRITE, r.ptr)
        self.qspi_image = Region(MemRegion("qspi", QSPI_BASE, QSPI_SIZE, writable=False), fill=0xFF)
        self.qspi_open = False
        self.sdram: Region | None = None
        self._load(self.elf)

        # ---- peripherals --------------------------------------------------------------
        self.rcc = Rcc(self)
        self.pwr = Pwr(self)
        self.flash_if = FlashInterface(self)
        self.gpio = Gpio(self)
        self.syscfg = Syscfg(self)
        self.fmc = FmcSdram(self)
        self.qspi = Quadspi(self, memoryview(self.qspi_image.buf).cast("B"))
        self.dma = Dma2(self)
        self.dma1 = Dma1(self)
        self.usart = Usart(self)
        self.dwt = Dwt(self)
        self.scs = Scs(self)
        self.nvic = self.scs.nvic
        self._callbacks = []
        for p in (
            self.rcc,
            self.pwr,
            self.flash_if,
            self.gpio,
            self.syscfg,
            self.fmc,
            self.qspi,
            self.dma,
            self.dma1,
            self.usart,
            self.dwt,
            self.scs,
        ):
            self._mmio(p)

        # ---- hooks ----------------------------------------------------------------------
        uc.hook_add(UC_HOOK_MEM_UNMAPPED, self._on_unmapped)
        uc.hook_add(UC_HOOK_MEM_WRITE_PROT | UC_HOOK_MEM_FETCH_PROT, self._on_prot)
        uc.hook_add(UC_HOOK_INTR, self._on_intr)
        exit_at = self.elf.symbol(EXIT_SYMBOL)
        uc.hook_add(UC_HOOK_CODE, self._on_exit, begin=exit_at, end=exit_at)
        text = self.elf.sections.get(".text")
        if text is None:
            raise BoardModelError("the firmware has no .text section")
        code = self.flash.view[text[0] - self.flash.base : text[0] - self.flash.base + text[1]]
        halves = code[: code.size & ~1].view("<u2")
        for k in np.flatnonzero(halves == 0xBF30):  # WFI
            a = text[0] + 2 * int(k)
            uc.hook_add(UC_HOOK_CODE, self._on_wfi, begin=a, end=a)
        for k in np.flatnonzero(halves == 0xB662):  # CPSIE I: check after it
            a = text[0] + 2 * int(k) + 2
            uc.hook_add(UC_HOOK_CODE, self._after_cpsie, begin=a, end=a)
        self._wfi = False

    # ---- loading ----------------------------------------------------------------------
    def _load(self, elf) -> None:
        for seg in elf.segments:
            for target in (self.flash, self.qspi_image):
                if target.contains(seg.paddr, len(seg.data)):
                    off = seg.paddr - target.base
                    target.view[off : off + len(seg.data)] = np.frombuffer(seg.data, np.uint8)
                    break
            else:
                raise BoardModelError(
                    f"ELF segment at {seg.paddr:#010x} (+{len(seg.data)} B) is "
                    "neither in internal flash nor in the QSPI flash: a "
                    "programmer cannot write it"
                )

    # ---- MMIO plumbing -------------------------------------------------------------------
    def _mmio(self, p) -> None:
        def rd(uc, off, size, _):
            try:
                return p.read(off, size) & 0xFFFFFFFF
            except BaseException as err:  # noqa: BLE001 - reported after the run stops
                self.fail(err)
                return 0

        def wr(uc, off, size, value, _):
            try:
                p.write(off, size, value & ((1 << (8 * size)) - 1))
            except BaseException as err:  # noqa: BLE001
                self.fail(err)

        self._callbacks += [rd, wr]
        self.uc.mmio_map(p.base, p.size, rd, None, wr, None)

    def fail(self, err: BaseException) -> None:
        if self.error is None:
            if isinstance(err, BoardModelError) and "pc " not in str(err):
                err.args = (f"{err.args[0]} [pc {self.pc():#010x}]",) + err.args[1:]
            self.error = err
        self.uc.emu_stop()

    def request(self, reason: str) -> None:
        self._stop_reasons.add(reason)
        self.uc.emu_stop()

    def pc(self) -> int:
        return self.uc.reg_read(A.UC_ARM_REG_PC)

    # ---- memory map changes ---------------------------------------------------------------
    def open_sdram(self, base: int) -> None:
        if self.sdram is None:
            self.sdram = Region(MemRegion("sdram", base, self.spec.sdram_bytes, cacheable=self._sdram_cacheable(base)))
        else:
            self.sdram.base = base
            self.sdram.spec = MemRegion("sdram", base, self.spec.sdram_bytes, cacheable=self._sdram_cacheable(base))
        self.uc.mem_map_ptr(base, self.sdram.size, UC_PROT_ALL, self.sdram.ptr)
        if self.scs.dcache is not None and self.scs.dcache.enabled and self.sdram.spec.cacheable:
            self.scs.dcache.track(self.sdram)

    def _sdram_cacheable(self, base: int) -> bool:
        # ARMv7-M default map: 0x6000 0000-0x7FFF FFFF external RAM, write-back
        # cacheable; 0xC000 0000.. external device (not cached).
        return self.spec.core == "cortex-m7" and 0x60000000 <= base < 0x80000000

    def remap_sdram(self) -> None:
        if self.sdram is None or not self.fmc.ready:
            return
        new = self.fmc.window_base()
        if new != self.sdram.base:
            self.uc.mem_unmap(self.sdram.base, self.sdram.size)
            self.open_sdram(new)

    def open_qspi(self) -> None:
        if not self.qspi_open:
            self.uc.mem_map_ptr(QSPI_BASE, QSPI_SIZE, UC_PROT_READ | UC_PROT_EXEC, self.qspi_image.ptr)
            self.qspi_open = True

    def close_qspi(self) -> None:
        if self.qspi_open:
            self.uc.mem_unmap(QSPI_BASE, QSPI_SIZE)
            self.qspi_open = False

    # ---- what the DMA and the cache model see ---------------------------------------------
    def _regions(self) -> list[Region]:
        out = [self.flash] + self.rams
        if self.sdram is not None:
            out.append(self.sdram)
        if self.qspi_open:
            out.append(self.qspi_image)
        return out

    def cacheable_regions(self) -> list[Region]:
        regions = [r for r in self.rams if r.spec.cacheable]
        if self.sdram is not None and self.sdram.spec.cacheable:
            regions.append(self.sdram)
        return regions

    def cache_sync(self) -> None:
        """Applies queued D-cache maintenance before anything can observe memory."""
        if self.scs.dcache is not None:
            self.scs.dcache.flush()

    def cacheable_region_at(self, addr: int) -> Region | None:
        for r in self.cacheable_regions():
            if r.contains(addr, 1):
                return r
        return None

    def dma_pieces(self, addr: int, n: int, who: str) -> list[tuple[Region, int, int]]:
        """(region, offset, bytes) pieces of [addr, addr + n): a transfer may run
        across adjacent memories (F746 DTCM -> SRAM1), each must be DMA-reachable."""
        pieces, at, left = [], addr, n
        while left:
            for r in self._regions():
                if r.contains(at, 1):
                    if not r.spec.dma:
                        raise DmaBusError(
                            f"{who}: {addr:#010x}+{n} touches {r.name}, which the "
                            f"DMA cannot reach ({r.spec.why_not_dma})"
                        )
                    k = min(left, r.base + r.size - at)
                    pieces.append((r, at - r.base, k))
                    at, left = at + k, left - k
                    break
            else:
                raise DmaBusError(
                    f"{who}: {addr:#010x}+{n} reaches {at:#010x}, where no memory "
                    "answers (the stream would stop with a transfer error)"
                )
        return pieces

    def dma_region(self, addr: int, n: int, who: str) -> None:
        self.dma_pieces(addr, n, who)

    def _dcache_on(self, region: Region) -> bool:
        dc = self.scs.dcache
        return dc is not None and dc.enabled and region.spec.cacheable and region.name in dc.poc

    def dma_read(self, addr: int, n: int, who: str) -> np.ndarray:
        parts = []
        for region, off, k in self.dma_pieces(addr, n, who):
            if self._dcache_on(region):
                parts.append(self.scs.dcache.dma_read(region, off, k, who))
            else:
                parts.append(region.view[off : off + k].copy())
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def dma_write(self, addr: int, data: np.ndarray, who: str) -> None:
        at = 0
        for region, off, k in self.dma_pieces(addr, data.size, who):
            if not region.spec.writable:
                raise DmaBusError(f"{who}: write to read-only {region.name} at {addr:#010x}")
            if self._dcache_on(region):
                self.scs.dcache.dma_write(region, off, data[at : at + k], who)
            else:
                region.view[off : off + k] = data[at : at + k]
            at += k

    # ---- hooks -------------------------------------------------------------------------------
    def _on_unmapped(self, uc, access, addr, size, value, _):
        if 0xC0000000 <= addr < 0xE0000000 or 0x60000000 <= addr < 0x80000000:
            if self.sdram is None:
                err_type = SdramError if self.fmc.problem else BusFaultError
                self.fail(err_type(self.fmc.closed_reason(addr)))
            else:
                self.fail(
                    BusFaultError(
                        f"{addr:#010x} is outside the {self.spec.sdram_bytes >> 20} MB SDRAM at {self.sdram.base:#010x}"
                    )
                )
        elif QSPI_BASE <= addr < QSPI_BASE + 0x10000000:
            self.fail(QspiError(f"QSPI window accessed at {addr:#010x} while QUADSPI is not in memory-mapped mode"))
        else:
            what = "write to" if access == UC_MEM_WRITE_UNMAPPED else "access to"
            self.fail(BusFaultError(f"{what} {addr:#010x} ({size} B): nothing is mapped there"))
        return False

    def _on_prot(self, uc, access, addr, size, value, _):
        self.fail(BusFaultError(f"write or fetch at {addr:#010x} not allowed (read-only flash or a data-only RAM)"))
        return False

    def _on_intr(self, uc, intno, _):
        if intno == EXCP_EXCEPTION_EXIT:
            self._exc_return = self.pc() | 1
            self.request("exc_return")
        else:
            self.fail(
                BoardModelError(
                    f"CPU exception {intno} (QEMU EXCP number: fault, "
                    f"undefined instruction or breakpoint) at pc {self.pc():#010x}"
                )
            )

    def _on_exit(self, uc, addr, size, _):
        self.exit_code = ctypes.c_int32(uc.reg_read(A.UC_ARM_REG_R0)).value
        self.request("exit")

    def _on_wfi(self, uc, addr, size, _):
        self._wfi = True

    def _after_cpsie(self, uc, addr, size, _):
        if self._takeable() is not None:
            self.request("irq")

    def interrupts_changed(self) -> None:
        if self._takeable() is not None:
            self.request("irq")

    # ---- exceptions ---------------------------------------------------------------------------
    def _takeable(self, ignore_primask: bool = False) -> int | None:
        if not ignore_primask and self.uc.reg_read(A.UC_ARM_REG_PRIMASK) & 1:
            return None
        current = self.nvic.execution_priority(self.scs.exception_priority)
        return self.nvic.next_irq(current)

    def _enter(self, irq: int) -> None:
        uc = self.uc
        exc = 16 + irq
        self.nvic.pending[irq] = False
        regs = [
            uc.reg_read(r)
            for r in (
                A.UC_ARM_REG_R0,
                A.UC_ARM_REG_R1,
                A.UC_ARM_REG_R2,
                A.UC_ARM_REG_R3,
                A.UC_ARM_REG_R12,
                A.UC_ARM_REG_LR,
            )
        ]
        pc, xpsr = self.pc(), uc.reg_read(A.UC_ARM_REG_XPSR)
        control = uc.reg_read(A.UC_ARM_REG_CONTROL)
        fp = bool(control & 4)
        words = regs + [pc, xpsr]
        if fp:
            words += [uc.reg_read(getattr(A, f"UC_ARM_REG_S{i}")) for i in range(16)]
            words += [uc.reg_read(A.UC_ARM_REG_FPSCR), 0]
        sp = uc.reg_read(A.UC_ARM_REG_SP) - 4 * len(words)
        if sp & 4:
            sp &= ~7
            words[7] |= 1 << 9
        uc.mem_write(sp, struct.pack(f"<{len(words)}I", *words))
        uc.reg_write(A.UC_ARM_REG_SP, sp)
        uc.reg_write(A.UC_ARM_REG_LR, 0xFFFFFFE9 if fp else 0xFFFFFFF9)
        if fp:
            uc.reg_write(A.UC_ARM_REG_CONTROL, control & ~4)
        uc.reg_write(A.UC_ARM_REG_XPSR, (1 << 24) | exc)
        vector = struct.unpack("<I", uc.mem_read(self.scs.vtor + 4 * exc, 4))[0]
        if not vector & 1:
            raise BoardModelError(
                f"vector {exc} at VTOR {self.scs.vtor:#010x} is {vector:#x} (not a Thumb address: the core would fault)"
            )
        uc.reg_write(A.UC_ARM_REG_PC, vector & ~1)
        self.nvic.active.append(exc)
        self.interrupts_taken += 1

    def _return(self) -> None:
        uc = self.uc
        exc_return = self._exc_return
        fp = not exc_return & 0x10
        sp = uc.reg_read(A.UC_ARM_REG_SP)
        n = 26 if fp else 8
        words = struct.unpack(f"<{n}I", uc.mem_read(sp, 4 * n))
        for r, v in zip(
            (A.UC_ARM_REG_R0, A.UC_ARM_REG_R1, A.UC_ARM_REG_R2, A.UC_ARM_REG_R3, A.UC_ARM_REG_R12, A.UC_ARM_REG_LR),
            words,
        ):
            uc.reg_write(r, v)
        if fp:
            for i in range(16):
                uc.reg_write(getattr(A, f"UC_ARM_REG_S{i}"), words[8 + i])
            uc.reg_write(A.UC_ARM_REG_FPSCR, words[24])
            uc.reg_write(A.UC_ARM_REG_CONTROL, uc.reg_read(A.UC_ARM_REG_CONTROL) | 4)
        sp += 4 * n + (4 if words[7] & (1 << 9) else 0)
        uc.reg_write(A.UC_ARM_REG_SP, sp)
        uc.reg_write(A.UC_ARM_REG_XPSR, words[7] & ~(1 << 9))
        uc.reg_write(A.UC_ARM_REG_PC, words[6] & ~1)
        exc = self.nvic.active.pop()
        if exc >= 16 and self.nvic.level[exc - 16]:
            self.nvic.pending[exc - 16] = True  # level-sensitive: still asserted

    # ---- run -----------------------------------------------------------------------------------
    def run(self, timeout: float = 600.0) -> RunResult:
        uc = self.uc
        sp, reset = struct.unpack("<II", uc.mem_read(self.spec.boot_alias, 8))
        uc.reg_write(A.UC_ARM_REG_SP, sp)
        pc = reset & ~1
        t0 = time.perf_counter()
        while True:
            left = timeout - (time.perf_counter() - t0)
            if left <= 0:
                raise FirmwareHang(
                    f"the firmware did not finish within {timeout:.0f} s "
                    f"(pc {self.pc():#010x}); console so far:\n" + self.console()[-2000:]
                )
            self._stop_reasons.clear()
            self._wfi = False
            try:
                uc.emu_start(pc | 1, 0xFFFFFFF0, timeout=int(left * 1e6))
            except UcError as err:
                if self.error is None:
                    raise BusFaultError(f"Unicorn stopped: {err} at pc {self.pc():#010x}") from None
            if self.error is not None:
                raise self.error
            reasons = self._stop_reasons
            if "exit" in reasons:
                break
            if "exc_return" in reasons:
                self._return()
            self.cache_sync()
            if self._wfi:
                # Sleeping lets time pass: transfers in flight complete.
                self.dma.complete_all()
                if self.error is not None:
                    raise self.error
                if self._takeable(ignore_primask=True) is None:
                    raise FirmwareHang(
                        f"WFI at {self.pc() - 2:#010x} with no interrupt pending "
                        "and no DMA transfer in flight: the core would sleep "
                        "forever"
                    )
            irq = self._takeable()
            if irq is not None:
                self._enter(irq)
            pc = self.pc()
        return RunResult(
            self.exit_code,
            self.console(),
            time.perf_counter() - t0,
            self.interrupts_taken,
            sum(s.transfers for s in self.dma.streams),
            sum(s.bytes for s in self.dma.streams),
            self.scs.dcache.maintenance_ops if self.scs.dcache else 0,
        )

    def console(self) -> str:
        return self.usart.out.decode("latin-1").replace("\r\n", "\n")
