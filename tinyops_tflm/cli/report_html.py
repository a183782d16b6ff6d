"""`tinyops report`: one self-contained HTML page (plots embedded as PNG).

Layout in the spirit of X-CUBE-AI's analyze report: summary, memory use,
modelled latency breakdown per op, memory map per memory (tensor lifetime x
offset), the per-layer table, validation. Data: :mod:`tinyops_tflm.cli.report_data`.
Plots need matplotlib (``pip install 'tinyops-tflm[plot]'``).
"""

from __future__ import annotations

import base64
import html
import io

from ..frontend.metrics import human_bytes, human_count

__all__ = ["render_html", "memory_map_png", "latency_png"]

_COLORS = {"activation": "#4C72B0", "constant": "#8C8C8C", "buffer": "#DD8452"}


def _plt():
    from ..plot_backend import pyplot

    return pyplot("tinyops report (its plots)")


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    _plt().close(fig)
    return buf.getvalue()


def _scale(nbytes: int) -> tuple[float, str]:
    return (1024.0 * 1024.0, "MiB") if nbytes >= 4 * 1024 * 1024 else (1024.0, "KiB")


def memory_map_png(memory: str, rects: list[dict], num_ops: int, capacity: int, used: int) -> bytes:
    """Tensor lifetime (ops, x) against offset (y) in one memory."""
    plt = _plt()
    from matplotlib.patches import Patch, Rectangle

    top = max([r["offset"] + r["nbytes"] for r in rects] + [used, 1])
    div, unit = _scale(top)
    fig, ax = plt.subplots(figsize=(9.0, 3.2), dpi=100)
    for r in rects:
        ax.add_patch(
            Rectangle(
                (r["first"] - 0.45, r["offset"] / div),
                r["last"] - r["first"] + 0.9,
                r["nbytes"] / div,
                facecolor=_COLORS[r["kind"]],
                edgecolor="white",
                linewidth=0.4,
                alpha=0.9,
            )
        )
    if capacity and capacity <= 1.5 * top:
        ax.axhline(capacity / div, color="#C44E52", linewidth=1, linestyle="--")
        ax.text(num_ops - 0.5, capacity / div, " budget", color="#C44E52", va="bottom", ha="right", fontsize=8)
    ax.set_xlim(-0.6, num_ops - 0.4)
    ax.set_ylim(0, max(top, capacity if capacity and capacity <= 1.5 * top else 0) / div * 1.05)
    ax.set_xlabel("op (tensor lifetime)")
    ax.set_ylabel(f"offset ({unit})")
    ax.set_title(f"{memory}: {human_bytes(used)} used of {human_bytes(capacity)}", fontsize=10)
    kinds = sorted({r["kind"] for r in rects})
    ax.legend(
        handles=[Patch(color=_COLORS[k], label=k + "s") for k in kinds],
        fontsize=8,
        frameon=False,
        loc="upper left",
        bbox_to_anchor=(1.0, 1.0),
    )
    fig.tight_layout()
    return _png(fig)


def latency_png(estimate, title: str) -> bytes:
    """Per-op stacked bars: compute, memory wait states, exposed DMA (the
    plot of `tinyops estimate --plot`)."""
    from .estimate import plot_breakdown

    _plt()
    buf = io.BytesIO()
    plot_breakdown(estimate, buf, title)
    return buf.getvalue()


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _e(x) -> str:
    return html.escape(str(x))


def _shape(t: dict) -> str:
    return "x".join(str(d) for d in t["shape"]) or "scalar"


def _where(t: dict) -> str:
    if t["memory"] is None:
        return f"{_e(t['role'])}: -"
    return f"{_e(t['role'])}: <b>{_e(t['memory'])}</b> @0x{t['offset']:x} ({_e(human_bytes(t['nbytes']))})"


def _per_memory(d: dict) -> str:
    return "<br>".join(f"{_e(m)} {_e(human_bytes(b))}" for m, b in sorted(d.items())) or "-"


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#222;
 background:#fff;font-size:14px}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd}
.sub{color:#666;margin-bottom:16px}
.cards{display:flex;flex-wrap:wrap;gap:10px}
.card{border:1px solid #ddd;border-radius:6px;padding:8px 12px;min-width:130px;background:#fafafa}
.card .v{font-size:18px;font-weight:600} .card .k{color:#666;font-size:12px}
table{border-collapse:collapse;font-size:12px} th,td{border:1px solid #ddd;padding:3px 6px;
 vertical-align:top} th{background:#f0f3f7;position:sticky;top:0} td.n{text-align:right;
 white-space:nowrap} tr:nth-child(even) td{background:#fafbfc}
.ok{color:#1a7f37;font-weight:600} .bad{color:#c0392b;font-weight:600}
td.p{white-space:nowrap}
.note{color:#666;font-size:12px} img{max-width:100%;height:auto}
"""


def render_html(r: dict, images: dict[str, bytes]) -> str:
    """The page; `images`: "latency" and "memory:<name>" PNGs."""
    m, b, plan, lat = r["model"], r["board"], r["plan"], r["latency"]
    v = r.get("validation")
    verdict = v["verdict"] if v else "not run"
    vclass = "ok" if v and v["ok"] else "bad"
    title = f"{m['file'].split('/')[-1]} on {b['name']}"
    cards = [
        ("ops", m["ops"]),
        ("MACs", human_count(m["macs"])),
        ("parameters", human_count(m["params"])),
        ("constants", human_bytes(m["constant_bytes"])),
        ("SRAM peak / budget", f"{human_bytes(plan['sram_peak'])} / {human_bytes(plan['sram_budget'])}"),
        ("DMA per inference", human_bytes(plan["totals"]["dma_bytes"])),
        ("latency (modelled)", f"{lat['ms']:.2f} ms"),
        ("validation", verdict),
    ]
    out = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>tinyops report: {_e(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>tinyops report: {_e(title)}</h1>",
        f"<div class='sub'>{_e(b['description'])} &middot; tinyops-tflm "
        f"{_e(r['tinyops_version'])} &middot; {_e(r['generated'])}</div>",
        "<div class='cards'>",
    ]
    for k, val in cards:
        cls = f" {vclass}" if k == "validation" else ""
        out.append(f"<div class='card'><div class='v{cls}'>{_e(val)}</div><div class='k'>{_e(k)}</div></div>")
    out.append("</div>")

    out.append("<h2>Model</h2><table>")
    ops = ", ".join(f"{n} &times;{c}" for n, c in m["op_counts"].items())
    rows = [
        ("file", f"{_e(m['file'])} ({_e(human_bytes(m['file_bytes']))}, sha256 {_e(m['sha256'][:16])})"),
        ("operators", ops),
    ]
    for t in m["inputs"] + m["outputs"]:
        rows.append((t["role"], f"{_e(t['name'])} {_shape(t)} {_e(t['dtype'])} &rarr; {_where(t)}"))
    out += [f"<tr><th>{_e(k)}</th><td>{val}</td></tr>" for k, val in rows]
    out.append("</table>")

    out.append(
        "<h2>Memory</h2><table><tr><th>memory</th><th>used</th><th>available</th><th>use</th><th>bandwidth</th></tr>"
    )
    for mem in plan["memories"]:
        share = 100.0 * mem["used"] / mem["capacity"] if mem["capacity"] else 0.0
        out.append(
            f"<tr><td>{_e(mem['memory'])}</td><td class='n'>{_e(human_bytes(mem['used']))}"
            f"</td><td class='n'>{_e(human_bytes(mem['capacity']))}</td>"
            f"<td class='n'>{share:.1f}%</td><td class='n'>{mem['bandwidth_mb_s']:g} MB/s"
            f"</td></tr>"
        )
    out.append(
        "</table><p class='note'>Available: the SRAM budget of the plan, internal "
        "flash minus the firmware image, the other memories' capacity.</p>"
    )

    out.append("<h2>Latency (modelled)</h2>")
    out.append(
        f"<p><b>{lat['ms']:.2f} ms</b> = {lat['total_cycles']:,} cycles at "
        f"{b['clock_hz'] / 1e6:.0f} MHz. Modelled by <i>{_e(lat['model'])}</i>; "
        "not a board measurement.</p>"
    )
    if "latency" in images:
        out.append(_img(images["latency"], "latency breakdown per op"))

    out.append(
        "<h2>Memory maps</h2><p class='note'>Each rectangle is a tensor (or, in "
        "SRAM, an op's tile buffer): its lifetime in ops (x) and its address range in "
        "the plan's region of that memory (y).</p>"
    )
    for key, png in images.items():
        if key.startswith("memory:"):
            out.append(f"<div>{_img(png, 'memory map of ' + key[7:])}</div>")

    out.append("<h2>Layers</h2>")
    out.append(
        "<table id='layers'><tr><th>#</th><th>op</th><th>inputs</th><th>output</th>"
        "<th>MACs</th><th>params</th><th>placement</th><th>strategy</th><th>tile</th>"
        "<th>tiles</th><th>DMA read</th><th>DMA write</th><th>SRAM tiles / in use</th>"
        "<th>cycles (modelled)</th><th>ms (modelled)</th></tr>"
    )
    for layer in r["layers"]:
        ins = "<br>".join(_shape(t) for t in layer["inputs"] if not t["constant"]) or "-"
        outs = "<br>".join(_shape(t) for t in layer["outputs"])
        place = "<br>".join(_where(t) for t in layer["inputs"] + layer["outputs"])
        out.append(
            f"<tr><td class='n'>{layer['op']}</td><td>{_e(layer['name'])}</td><td>{ins}</td>"
            f"<td>{outs}</td><td class='n'>{_e(human_count(layer['macs']))}</td>"
            f"<td class='n'>{_e(human_count(layer['params']))}</td><td class='p'>{place}</td>"
            f"<td>{_e(layer['strategy'])}</td><td>{_e(layer['tile'])}</td>"
            f"<td class='n'>{layer['tiles']}</td><td class='n'>{_per_memory(layer['dma_read_bytes'])}"
            f"</td><td class='n'>{_per_memory(layer['dma_write_bytes'])}</td>"
            f"<td class='n'>{_e(human_bytes(layer['sram_tile_bytes']))} / "
            f"{_e(human_bytes(layer['sram_in_use']))}</td>"
            f"<td class='n'>{layer['cycles']:,.0f}</td><td class='n'>{layer['ms']:.3f}</td></tr>"
        )
    out.append(
        "</table><p class='note'>DMA bytes: counted by the engine in a host run of "
        "this plan (the firmware moves the same bytes). SRAM: the op's tile buffers, "
        "and the highest SRAM byte in use during the op (tensors resident in SRAM "
        "included). Cycles and ms: modelled (see Latency).</p>"
    )

    out.append("<h2>Validation</h2>")
    if v is None:
        out.append("<p>Not run (--no-validate).</p>")
    else:
        out.append(
            f"<p class='{vclass}'>{_e(v['verdict'])}</p><p>Partitioned plan on the "
            f"host engine against {_e(v['oracle'])}, {v['num_inputs']} seeded random "
            f"inputs (seed {v['seed']}), every output byte compared.</p>"
        )
        if v["oracle_error"]:
            out.append(f"<p class='bad'>The oracle failed: {_e(v['oracle_error'])}</p><ul>")
            for lim in v["oracle_limits"]:
                out.append(f"<li>tflite-micro cannot run op {lim['op']} ({_e(lim['name'])}): {_e(lim['reason'])}</li>")
            out.append("</ul>")
        for c in v["cases"]:
            for o in c["outputs"]:
                res = "equal" if o["equal"] else f"DIFFERENT in {o['num_different']} values"
                out.append(f"<div>input {c['case']}, output {o['index']} '{_e(o['name'])}': {_e(res)}</div>")
    out.append("</body></html>\n")
    return "\n".join(out)


def write_report(r: dict, path: str) -> None:
    """Render the plots and write the page to `path`."""
    est = r["_estimate"]
    images: dict[str, bytes] = {
        "latency": latency_png(est, f"{r['model']['file'].split('/')[-1]} on {est.board}: {est.ms:.2f} ms (modelled)")
    }
    caps = {mem["memory"]: (mem["capacity"], mem["used"]) for mem in r["plan"]["memories"]}
    for memory, rects in r["memory_maps"].items():
        cap, used = caps.get(memory, (0, 0))
        images[f"memory:{memory}"] = memory_map_png(memory, rects, r["model"]["ops"], cap, used)
    with open(path, "w", encoding="utf-8") as f:
        f.write(render_html(r, images))
