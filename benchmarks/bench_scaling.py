"""The main job's scaling curve: wall time and peak memory per stage against the number of ratings.

    python benchmarks/bench_scaling.py                       # 1M, 5M and 25M ratings
    python benchmarks/bench_scaling.py --sizes 1 5 25 50     # and 50M (about 12 GB of RAM)

For each size, ``generate_movielens.py`` (fixed seed, the generator behind every 25M figure)
writes a MovieLens-shaped folder: users in proportion to the ratings (ml-25m's 154 ratings
a user) and movies as ratings^0.75 from ml-25m's 62,423 (a catalogue grows slower than its
ratings, as MovieLens's editions do). Each folder is generated once and kept under
``--data``. Then ``recsys run`` (``bench_main_job.run_main_job``, a child process per size)
reports wall time and peak memory per stage, and each stage's fitted exponent b
(time ∝ ratings^b) between consecutive sizes and over all of them. A stage that grows faster
than ratings^1.15 between the two largest sizes is flagged. Results: printed, written to
benchmarks/out/scaling.json, and plotted to docs/images/scaling.png.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.generate_movielens import N_MOVIES, N_RATINGS, N_USERS  # noqa: E402

#: The steepest growth a stage may show between the two largest sizes.
MAX_EXPONENT = 1.15


def shape(millions: float) -> dict[str, int]:
    """Users, ratings and movies of a data set of ``millions`` ratings, shaped like ml-25m."""
    ratings = int(millions * 1_000_000)
    share = ratings / N_RATINGS
    return {"users": round(N_USERS * share), "ratings": ratings, "movies": round(N_MOVIES * share**0.75)}


def exponent(sizes: list[float], seconds: list[float]) -> float | None:
    """b of the least-squares fit of log(seconds) = a + b log(ratings); None under 2 points."""
    points = [(math.log(n), math.log(s)) for n, s in zip(sizes, seconds) if s > 0]
    if len(points) < 2:
        return None
    x, y = np.array(points).T
    return round(float(np.polyfit(x, y, 1)[0]), 2)


def measure(millions: float, data_root: Path, out_root: Path, seed: int) -> dict:
    """Generate (once) and run the main job on one size, in a fresh process (its own peak)."""
    folder = data_root / f"ml-{millions:g}m-synth"
    spec = shape(millions)
    if not (folder / "ratings.csv").exists():
        subprocess.run(
            [
                sys.executable, str(ROOT / "benchmarks" / "generate_movielens.py"), "--out", str(folder),
                "--users", str(spec["users"]), "--ratings", str(spec["ratings"]), "--movies", str(spec["movies"]),
                "--seed", str(seed),
            ],
            check=True,
        )  # fmt: skip
    code = (
        "import json, sys; from pathlib import Path; sys.path.insert(0, sys.argv[3]);"
        "from benchmarks.bench_main_job import run_main_job;"
        "print(json.dumps(run_main_job(Path(sys.argv[1]), Path(sys.argv[2]))))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(folder), str(out_root / f"{millions:g}m"), str(ROOT)],
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    # the generator draws about the ratings asked for: the curve uses the number it wrote
    return {"millions": millions, **spec, "ratings": _lines(folder / "ratings.csv") - 1, **result}


def _lines(path: Path) -> int:
    count = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 24):
            count += chunk.count(b"\n")
    return count


def curve(runs: list[dict]) -> dict:
    """Each stage's exponent between consecutive sizes and over all of them, and the flags."""
    runs = sorted(runs, key=lambda r: r["ratings"])
    stages = [s for s in runs[-1]["stages_s"]]
    sizes = [r["ratings"] for r in runs]
    out: dict = {"stages": {}}
    for stage in [*stages, "total"]:
        seconds = [r["seconds"] if stage == "total" else r["stages_s"].get(stage, 0.0) for r in runs]
        steps = {
            f"{a['millions']:g}M->{b['millions']:g}M": exponent([a["ratings"], b["ratings"]], [sa, sb])
            for a, b, sa, sb in zip(runs, runs[1:], seconds, seconds[1:])
        }
        out["stages"][stage] = {"seconds": seconds, "exponent_all": exponent(sizes, seconds), "exponent_steps": steps}
    if len(runs) >= 2:
        last = f"{runs[-2]['millions']:g}M->{runs[-1]['millions']:g}M"
        out["steeper_than_allowed"] = {
            stage: row["exponent_steps"][last]
            for stage, row in out["stages"].items()
            if (row["exponent_steps"].get(last) or 0) > MAX_EXPONENT
        }
    return out


def plot(runs: list[dict], path: Path) -> None:
    """Log-log wall time per stage and the peak memory, against ratings."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = sorted(runs, key=lambda r: r["ratings"])
    ratings = [r["ratings"] / 1e6 for r in runs]
    fig, (time_ax, memory_ax) = plt.subplots(1, 2, figsize=(11, 4.2))
    colour = {stage: f"C{i}" for i, stage in enumerate(runs[-1]["stages_s"])}  # one per stage, both panels
    for stage in runs[-1]["stages_s"]:
        time_ax.plot(
            ratings, [r["stages_s"].get(stage, np.nan) for r in runs], marker="o", label=stage, color=colour[stage]
        )
    time_ax.plot(ratings, [r["seconds"] for r in runs], marker="s", color="black", label="total")
    reference = [runs[0]["seconds"] * (x / ratings[0]) for x in ratings]
    time_ax.plot(ratings, reference, linestyle=":", color="grey", label="linear (from the smallest)")
    time_ax.set(
        xscale="log", yscale="log", xlabel="ratings (millions)", ylabel="seconds", title="Main job: time per stage"
    )
    time_ax.legend(fontsize=7)
    memory_ax.plot(ratings, [r["peak_gb"] for r in runs], marker="s", color="black", label="peak (whole job)")
    for stage in runs[-1].get("stage_peak_gb", {}):
        memory_ax.plot(
            ratings,
            [r["stage_peak_gb"].get(stage, np.nan) for r in runs],
            marker=".",
            label=stage,
            color=colour.get(stage),
        )
    memory_ax.set(xscale="log", xlabel="ratings (millions)", ylabel="GB", title="Peak resident memory")
    memory_ax.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=float, nargs="+", default=[1, 5, 25], help="millions of ratings")
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "synthetic" / "scaling")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out" / "scaling")
    parser.add_argument("--seed", type=int, default=25)
    parser.add_argument("--plot", type=Path, default=ROOT / "docs" / "images" / "scaling.png")
    parser.add_argument("--replot", action="store_true", help="only redraw the plot from benchmarks/out/scaling.json")
    args = parser.parse_args()
    if args.replot:
        plot(json.loads((ROOT / "benchmarks" / "out" / "scaling.json").read_text())["runs"], args.plot)
        return
    runs = []
    for millions in sorted(args.sizes):
        runs.append(measure(millions, args.data, args.out, args.seed))
        print(json.dumps({k: runs[-1][k] for k in ("millions", "seconds", "peak_gb", "stages_s")}), flush=True)
    report = {"runs": runs, "curve": curve(runs)}
    (ROOT / "benchmarks" / "out").mkdir(parents=True, exist_ok=True)
    (ROOT / "benchmarks" / "out" / "scaling.json").write_text(json.dumps(report, indent=2))
    plot(runs, args.plot)
    print(json.dumps(report["curve"], indent=2))


if __name__ == "__main__":
    main()
