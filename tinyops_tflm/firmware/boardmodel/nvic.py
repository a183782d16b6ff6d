"""NVIC (ARMv7-M ARM section B3.4): enables, pending, active and the 4
priority bits the STM32 implements (RM0386/RM0385 section "Nested vectored
interrupt controller"). Interrupt lines are level-sensitive: a line that is
still asserted when its handler returns pends again."""

from __future__ import annotations


class Nvic:
    def __init__(self, num_irqs: int = 112) -> None:
        self.n = num_irqs
        self.enabled = [False] * num_irqs
        self.pending = [False] * num_irqs
        self.level = [False] * num_irqs
        self.priority = [0] * num_irqs
        self.active: list[int] = []  # exception numbers, innermost last
        self.taken = 0

    def set_level(self, irq: int, level: bool) -> None:
        self.level[irq] = level
        if level:
            self.pending[irq] = True

    def read(self, off: int, size: int) -> int:
        """Offsets from 0xE000E100."""
        if 0x000 <= off < 0x040:
            return self._bits(self.enabled, off)
        if 0x080 <= off < 0x0C0:
            return self._bits(self.enabled, off - 0x080)
        if 0x100 <= off < 0x140:
            return self._bits(self.pending, off - 0x100)
        if 0x180 <= off < 0x1C0:
            return self._bits(self.pending, off - 0x180)
        if 0x200 <= off < 0x240:
            act = [False] * self.n
            for e in self.active:
                if e >= 16:
                    act[e - 16] = True
            return self._bits(act, off - 0x200)
        if 0x300 <= off < 0x300 + self.n:
            v = 0
            for k in range(size):
                v |= self.priority[off - 0x300 + k] << (8 * k)
            return v
        raise KeyError(off)

    def write(self, off: int, size: int, value: int) -> None:
        if 0x300 <= off < 0x300 + self.n:
            for k in range(size):
                self.priority[off - 0x300 + k] = (value >> (8 * k)) & 0xF0
            return
        base = off & ~3
        for bit in range(32):
            if not value >> bit & 1:
                continue
            irq = (base % 0x40) * 8 + bit
            if irq >= self.n:
                continue
            if base < 0x040:
                self.enabled[irq] = True
            elif 0x080 <= base < 0x0C0:
                self.enabled[irq] = False
            elif 0x100 <= base < 0x140:
                self.pending[irq] = True
            elif 0x180 <= base < 0x1C0:
                self.pending[irq] = self.level[irq]
            else:
                raise KeyError(off)

    @staticmethod
    def _bits(flags: list[bool], off: int) -> int:
        start = (off & ~3) * 8
        return sum(1 << i for i in range(32) if start + i < len(flags) and flags[start + i])

    def execution_priority(self, exception_priority) -> int:
        if not self.active:
            return 256
        return min(exception_priority(e) for e in self.active)

    def next_irq(self, current_priority: int) -> int | None:
        """The enabled pending IRQ with the highest priority that preempts."""
        best = None
        for irq in range(self.n):
            if self.pending[irq] and self.enabled[irq] and self.priority[irq] < current_priority:
                if best is None or self.priority[irq] < self.priority[best]:
                    best = irq
        return best
