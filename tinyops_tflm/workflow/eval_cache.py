"""Resumable evaluation: per-image results kept on disk.

One append-only JSON-lines file per (model bytes, preprocessing, model kind),
named by their hashes, under ``$TINYOPS_EVAL_CACHE`` or
``~/.cache/tinyops_tflm/eval``.  A line is ``{"path", "size", "mtime_ns",
"top5"}`` (or ``"error"`` for an unreadable image); it is reused only while
the file at ``path`` still has that size and modification time.  Lines are
flushed as chunks complete, so a killed run resumes where it stopped; a torn
last line is ignored.  Labels are not cached (they come from the folder), so
renaming class folders needs no new evaluation.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path


def default_cache_dir() -> Path:
    env = os.environ.get("TINYOPS_EVAL_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "tinyops_tflm" / "eval"


def cache_name(model: bytes, prep: dict, kind: str) -> str:
    m = hashlib.sha256(model).hexdigest()[:24]
    p = hashlib.sha256(json.dumps(prep, sort_keys=True).encode()).hexdigest()[:12]
    return f"{m}-{p}-{kind}.jsonl"


class ResultCache:
    """Per-image results of one (model, preprocessing); ``path=None`` keeps nothing."""

    def __init__(self, path: Path | None):
        self.path = path
        self.entries: dict[str, dict] = {}
        if path is not None and path.is_file():
            with open(path, encoding="utf-8") as f:
                for line in f:
                    try:
                        e = json.loads(line)
                    except json.JSONDecodeError:
                        continue  # torn line of a killed run
                    if isinstance(e, dict) and "path" in e:
                        self.entries[e["path"]] = e
        self._f = None

    def lookup(self, path: str, stat: os.stat_result | None) -> dict | None:
        e = self.entries.get(path)
        if e is None or stat is None:
            return None
        if e.get("size") != stat.st_size or e.get("mtime_ns") != stat.st_mtime_ns:
            return None
        return e

    def add(self, results: list[dict], stats: dict[str, os.stat_result | None]) -> None:
        lines = []
        for r in results:
            st = stats.get(r["path"])
            e = dict(r)
            if st is not None:
                e["size"], e["mtime_ns"] = st.st_size, st.st_mtime_ns
            self.entries[r["path"]] = e
            lines.append(json.dumps(e) + "\n")
        if self.path is None:
            return
        if self._f is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            torn = False
            if self.path.is_file() and self.path.stat().st_size > 0:
                with open(self.path, "rb") as f:
                    f.seek(-1, os.SEEK_END)
                    torn = f.read(1) != b"\n"
            self._f = open(self.path, "a", encoding="utf-8")
            if torn:
                self._f.write("\n")  # end a killed run's partial line
        self._f.writelines(lines)
        self._f.flush()

    def close(self) -> None:
        if self._f is not None:
            self._f.close()
            self._f = None
