"""How much the discovery list differs from the accuracy list, over every user, through the API.

    recsys run                                   # publishes a version of the bundled data
    python benchmarks/bench_compare.py           # asks GET /compare/{user} for every user

Runs the server in process (Litestar's test client, the published version of the warehouse,
a throwaway feedback store) and asks ``/compare`` with its defaults (left: the version's
default model; right: the discovery model) for every user of the version. Reports the share
of users whose discovery list has a lower mean popularity than their accuracy list, the mean
overlap of the two top-10 lists, and the mean popularity and novelty of each side.

Targets: lower popularity for at least 90 % of users; mean overlap at most 4 of 10.
Results: printed and written to benchmarks/out/compare.json (keyed by warehouse).
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.results import save_keyed  # noqa: E402

TARGET_LOWER = 0.90
TARGET_OVERLAP = 4.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--warehouse", type=Path, default=Path("warehouse/movielens.duckdb"))
    parser.add_argument("--k", type=int, default=10)
    args = parser.parse_args()

    from litestar.testing import TestClient

    from recommender.config import Settings
    from server import ServerConfig, create_app

    logging.disable(logging.INFO)  # the test client logs every request
    settings = Settings(warehouse=args.warehouse)
    with tempfile.TemporaryDirectory() as tmp:
        environ = {"RECSYS_FEEDBACK_DB": str(Path(tmp) / "feedback.duckdb"), "RECSYS_ACCESS_LOG": "off"}
        config = ServerConfig.from_env(settings, environ=environ)
        with TestClient(create_app(config)) as client:
            rows = []
            for user_id in _all_users(settings):
                body = client.get(f"/compare/{user_id}", params={"k": args.k}).json()
                rows.append(
                    (
                        body["accuracy_stats"]["mean_popularity"],
                        body["discovery_stats"]["mean_popularity"],
                        body["accuracy_stats"]["novelty"],
                        body["discovery_stats"]["novelty"],
                        body["overlap"]["count"],
                    )
                )
            left, right = body["accuracy"]["model"], body["discovery"]["model"]
    a_pop, d_pop, a_nov, d_nov, overlap = (np.array(c, dtype=float) for c in zip(*rows))
    result = {
        "users": len(rows),
        "left": left,
        "right": right,
        "lower_popularity_share": float(np.mean(d_pop < a_pop)),
        "mean_overlap": float(overlap.mean()),
        "mean_popularity": {"left": float(a_pop.mean()), "right": float(d_pop.mean())},
        "novelty": {"left": float(np.nanmean(a_nov)), "right": float(np.nanmean(d_nov))},
    }
    met = result["lower_popularity_share"] >= TARGET_LOWER and result["mean_overlap"] <= TARGET_OVERLAP
    print(
        f"/compare over {len(rows):,} users ({left} | {right}): the discovery list is less popular for "
        f"{result['lower_popularity_share']:.1%} of users (target >= {TARGET_LOWER:.0%}); mean overlap "
        f"{result['mean_overlap']:.2f} of {args.k} (target <= {TARGET_OVERLAP:g}); mean popularity "
        f"{a_pop.mean():.1f} | {d_pop.mean():.1f} users per movie; novelty {result['novelty']['left']:.2f} | "
        f"{result['novelty']['right']:.2f} bits. Targets {'met' if met else 'missed'}."
    )
    save_keyed("compare", str(args.warehouse), {**result, "targets_met": met})


def _all_users(settings) -> list[int]:
    """Every user id of the active version (its ids file)."""
    from recommender.version.live import read_state
    from recommender.version.registry import read_pointer

    pointer = read_pointer(settings.serving_dir)
    return read_state(pointer.folder).user_ids.tolist()


if __name__ == "__main__":
    main()
