"""The engine's folders form layers: csrc/include (the API), kernels,
dma_partition (tiling and scheduling), runtime (plan loading, op registry),
then the host-only csrc/host (planner, host DMA engines) and the TFLM adapter
csrc/tflm. A file includes only its own layer or lower ones, so everything
below csrc/host and csrc/tflm stays free-standing firmware code."""

import re
from pathlib import Path

CSRC = Path(__file__).resolve().parents[1] / "csrc"
LAYERS = {"include": 0, "kernels": 1, "dma_partition": 2, "runtime": 3, "host": 4, "tflm": 4}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def _layer_of_include(path: str) -> int | None:
    top = path.split("/", 1)[0]
    if top == "tinyops":
        return LAYERS["include"]
    return LAYERS.get(top)  # None: a sibling header ("tile.h") or not an engine folder


def upward_includes(root: Path = CSRC) -> list[str]:
    bad = []
    for f in sorted(root.rglob("*")):
        if f.suffix not in (".h", ".cc") or not f.is_file():
            continue
        top = f.relative_to(root).parts[0]
        own = LAYERS[top]
        if top in ("host", "tflm"):
            continue  # the top: may include anything below
        for inc in INCLUDE.findall(f.read_text()):
            layer = _layer_of_include(inc)
            if layer is not None and layer > own:
                bad.append(f"{f.relative_to(root)} includes {inc}")
    return bad


def test_no_upward_includes():
    assert upward_includes() == []


def test_the_check_sees_an_upward_include(tmp_path):
    kernels = tmp_path / "kernels"
    kernels.mkdir()
    (kernels / "bad.cc").write_text('#include "runtime/executor.h"\n#include "host/planner.h"\n')
    (tmp_path / "host").mkdir()
    (tmp_path / "host" / "ok.cc").write_text('#include "runtime/executor.h"\n')
    assert upward_includes(tmp_path) == [
        "kernels/bad.cc includes runtime/executor.h",
        "kernels/bad.cc includes host/planner.h",
    ]


def test_host_code_lives_in_csrc_host():
    """Files needing the host (threads, containers) are in csrc/host, not
    named by a filename rule that the firmware build filters on."""
    host_only = re.compile(r"#include <(thread|mutex|vector|string|condition_variable|deque)>")
    offenders = [
        str(f.relative_to(CSRC))
        for d in ("include", "kernels", "dma_partition", "runtime")
        for f in sorted((CSRC / d).rglob("*"))
        if f.suffix in (".h", ".cc") and host_only.search(f.read_text())
    ]
    assert offenders == []
