"""The kernel calls benchmarks/refkernel_costs.py measures: one Shape per
CMSIS-NN call (layers of MobileNetV2/V3, MCUNet, ProxylessNAS and MNASNet at
80-224 px, each at a few sizes, every working set within the cores' internal
SRAM), the kernel classes they are fitted in, and the harness's error."""

from __future__ import annotations

from dataclasses import dataclass

CLASSES = (
    "conv_1x1",
    "conv_kxk",
    "conv_stem",
    "depthwise_3x3",
    "depthwise_large",
    "fully_connected",
    "add",
    "mul",
    "average_pool_2d",
)

KIND = {"conv": 0, "dw": 1, "fc": 2, "add": 3, "mul": 4, "avgpool": 5}
# Largest working set (tensors + scratch) of one shape: fits the data region
# of both cores (F746 SRAM1+2: 256 KB) beside the quantization arrays.
WORKSET_LIMIT = 232 * 1024


class HarnessError(RuntimeError):
    """The harness could not build, run or parse a measurement."""


@dataclass(frozen=True)
class Shape:
    cls: str
    kind: str
    ih: int
    iw: int
    ic: int
    oc: int
    kh: int = 1
    kw: int = 1
    stride: int = 1

    @property
    def oh(self) -> int:
        if self.kind in ("fc", "add", "mul"):
            return self.ih
        if self.kind == "avgpool":  # VALID window (global pool when kh = ih)
            return (self.ih - self.kh) // self.stride + 1
        return -(-self.ih // self.stride)  # TF 'SAME'

    @property
    def ow(self) -> int:
        if self.kind in ("fc", "add", "mul"):
            return self.iw
        if self.kind == "avgpool":
            return (self.iw - self.kw) // self.stride + 1
        return -(-self.iw // self.stride)

    def _pad(self, size: int, out: int, k: int) -> int:
        # TFLM's padding for 'SAME': the smaller half goes before.
        if self.kind not in ("conv", "dw"):
            return 0
        return max((out - 1) * self.stride + k - size, 0) // 2

    @property
    def ph(self) -> int:
        return self._pad(self.ih, self.oh, self.kh)

    @property
    def pw(self) -> int:
        return self._pad(self.iw, self.ow, self.kw)

    @property
    def out_elems(self) -> int:
        if self.kind == "fc":
            return self.oc
        return self.oh * self.ow * self.oc

    @property
    def in_elems(self) -> int:
        n = self.ih * self.iw * self.ic if self.kind != "fc" else self.ic
        return 2 * n if self.kind in ("add", "mul") else n

    @property
    def macs(self) -> int:
        if self.kind == "conv":
            return self.out_elems * self.kh * self.kw * self.ic
        if self.kind in ("dw", "avgpool"):
            return self.out_elems * self.kh * self.kw
        if self.kind == "fc":
            return self.ic * self.oc
        return self.out_elems  # add / mul, as metrics.op_macs

    def workset(self) -> int:
        """Bytes of tensors + an upper bound of the scratch the kernels ask for."""
        a = lambda n: (n + 31) // 32 * 32  # noqa: E731 - the driver's alignment
        n_in = self.ih * self.iw * self.ic if self.kind != "fc" else self.ic
        if self.kind == "conv":
            w, scratch = self.oc * self.kh * self.kw * self.ic, 4 * self.kh * self.kw * self.ic
        elif self.kind == "dw":
            w, scratch = self.kh * self.kw * self.ic, 2 * (self.kh * self.kw + 1) * self.ic + 64
        elif self.kind == "fc":
            w, scratch = self.ic * self.oc, 0
        elif self.kind == "avgpool":
            w, scratch = 0, 4 * self.ic * max(self.ow, 1)
        else:
            w, scratch = 0, 0
        bias = 4 * self.oc if self.kind in ("conv", "dw", "fc") else 0
        in2 = n_in if self.kind in ("add", "mul") else 0
        return a(n_in) + a(in2) + a(w) + a(bias) + a(self.out_elems) + a(scratch)

    def label(self) -> str:
        if self.kind == "fc":
            return f"fc {self.ic}->{self.oc}"
        if self.kind in ("add", "mul"):
            return f"{self.kind} {self.ih}x{self.iw}x{self.ic}"
        k = f"{self.kh}x{self.kw}"
        return f"{self.kind} {k} s{self.stride} {self.ih}x{self.iw}x{self.ic}->{self.oc}"


def _fitting_sizes(make, sizes, keep: int = 3) -> list[Shape]:
    """The `keep` largest square sizes whose working set fits, spread out."""
    fits = [make(s) for s in sizes if make(s).workset() <= WORKSET_LIMIT]
    if len(fits) <= keep:
        return fits
    step = (len(fits) - 1) / (keep - 1)
    return [fits[round(i * step)] for i in range(keep)]


def shapes() -> list[Shape]:
    """Layers of MobileNetV2/V3, MCUNet, ProxylessNAS and MNASNet at 80-224 px."""
    out: list[Shape] = []
    sizes = (56, 40, 28, 20, 14, 10, 7, 5, 3)
    # Pointwise expand / project pairs of the inverted-residual blocks.
    pw = [
        (8, 16),
        (16, 8),
        (16, 48),
        (16, 96),
        (24, 72),
        (24, 144),
        (32, 16),
        (32, 192),
        (40, 120),
        (40, 240),
        (48, 144),
        (48, 24),
        (64, 384),
        (72, 40),
        (80, 480),
        (96, 576),
        (112, 672),
        (144, 24),
        (160, 960),
        (192, 32),
        (240, 40),
        (240, 80),
        (384, 64),
        (480, 80),
        (480, 112),
        (576, 96),
        (672, 112),
        (960, 160),
        (160, 640),
    ]
    for ic, oc in pw:
        out += _fitting_sizes(lambda s, ic=ic, oc=oc: Shape("conv_1x1", "conv", s, s, ic, oc), sizes)
    # Strided 1x1 (arm_convolve_1x1_s8): rare in these families.
    out += [Shape("conv_1x1", "conv", 28, 28, 32, 64, stride=2), Shape("conv_1x1", "conv", 14, 14, 96, 160, stride=2)]
    # Full 3x3 convolutions past the stem (MCUNet / ProxylessNAS / MbV2 heads).
    for ic, oc, s in [(8, 16, 1), (16, 16, 1), (16, 32, 2), (32, 32, 1), (24, 48, 2), (32, 64, 1), (64, 64, 1)]:
        out += _fitting_sizes(lambda n, ic=ic, oc=oc, s=s: Shape("conv_kxk", "conv", n, n, ic, oc, 3, 3, s), sizes[:-1])
    # Stems: 3x3 s2 on RGB, a band of rows of an 80-224 px image.
    for iw in (80, 128, 160, 224):
        for oc in (8, 16, 24, 32, 40):
            for ih in (8, 32):
                if (iw, ih) == (80, 8) or (oc in (8, 40) and ih == 32):
                    continue
                s = Shape("conv_stem", "conv", ih, iw, 3, oc, 3, 3, 2)
                if s.workset() <= WORKSET_LIMIT:
                    out.append(s)
    # Depthwise 3x3, strides 1 / 2.
    for c in (16, 32, 48, 64, 96, 144, 192, 240, 288, 384, 480, 576, 672, 960):
        for st in (1, 2):
            out += _fitting_sizes(
                lambda n, c=c, st=st: Shape("depthwise_3x3", "dw", n, n, c, c, 3, 3, st),
                sizes[:-1],
                keep=2 if st == 2 else 3,
            )
    # Depthwise 5x5 / 7x7 (MbV3, MCUNet, ProxylessNAS, MNASNet).
    for k in (5, 7):
        for c in (24, 40, 72, 96, 120, 144, 240, 480, 576, 672, 960):
            for st in (1, 2):
                if st == 2 and c in (40, 120, 480, 960):
                    continue
                out += _fitting_sizes(
                    lambda n, c=c, st=st, k=k: Shape("depthwise_large", "dw", n, n, c, c, k, k, st), sizes[:-1], keep=2
                )
    # Classifiers (weights limited to the SRAM working set: the slope is per MAC).
    for ic, oc in [
        (64, 64),
        (128, 1000),
        (256, 512),
        (576, 256),
        (960, 160),
        (1024, 128),
        (1280, 100),
        (1280, 16),
        (1280, 1),
    ]:
        out.append(Shape("fully_connected", "fc", 1, 1, ic, oc))
    # Residual adds and same-shape multiplies.
    for kind, cls in (("add", "add"), ("mul", "mul")):
        for h, c in [(56, 24), (28, 32), (28, 40), (14, 80), (14, 112), (7, 160), (7, 960), (40, 16), (5, 8), (1, 1)]:
            out.append(Shape(cls, kind, h, h, c, c))
    # Global average pools (the head) and one windowed pool.
    for h, c in [(7, 960), (5, 960), (4, 576), (7, 1280), (3, 1280), (10, 320), (2, 1280), (6, 480), (7, 32)]:
        out.append(Shape("average_pool_2d", "avgpool", h, h, c, c, h, h, 1))
    out.append(Shape("average_pool_2d", "avgpool", 14, 14, 64, 64, 2, 2, 2))
    for s in out:
        if s.workset() > WORKSET_LIMIT:
            raise HarnessError(f"{s.label()}: working set {s.workset()} B > {WORKSET_LIMIT} B")
    return out


def selftest_shapes() -> list[Shape]:
    """Tiny shapes of the stub kernel layer (fully connected + add)."""
    return [Shape("fully_connected", "fc", 1, 1, d, u) for d, u in [(16, 4), (32, 8), (64, 8), (64, 16)]] + [
        Shape("add", "add", 1, 1, n, n) for n in (16, 64, 256)
    ]
