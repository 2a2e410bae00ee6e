"""Where benchmarks keep their figures: benchmarks/out/<name>.json, one entry per key (the data
set or warehouse measured), so runs on different data sit side by side."""

from __future__ import annotations

import json
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"


def save_keyed(name: str, key: str, result: dict) -> Path:
    """Put ``result`` under ``key`` in benchmarks/out/``name``.json, keeping the other keys."""
    out = OUT / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    saved = json.loads(out.read_text()) if out.exists() else {}
    saved[key] = result
    out.write_text(json.dumps(saved, indent=2))
    return out
