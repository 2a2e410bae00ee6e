"""Whether the served "because you liked" reasons make sense, per model, measured on the served
lists independently of the code that chose them.

    recsys run                                   # publishes a version of the bundled data
    python benchmarks/bench_reasons.py           # reads warehouse/serving's active version

For every model entry of every user's precomputed list (the popular top-up has no reason by
design and is left out; so is the popular model, which gives no reasons), with this script's
own cosine over the version's positives (binary,
the production fit's data; the cosine between two movies' sets of positive raters):

- top 3: the share of reasons that are among the user's 3 history movies most co-occurring
  with the recommended movie (a reason tied with the third counts);
- genre: the share of reasons that share a genre with the recommended movie;
- none: the share of entries without a reason.

Targets for every model: top 3 >= 95 %, genre >= 85 %, none <= 10 %. Results: printed as a
Markdown table and written to benchmarks/out/reasons.json (keyed by version folder).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.results import save_keyed  # noqa: E402

TARGETS = {"top3": 0.95, "genre": 0.85, "none": 0.10}


def measure(folder: Path, top: int = 3) -> dict[str, dict]:
    import duckdb
    import scipy.sparse as sp

    with np.load(folder / "ids.npz") as ids:
        user_ids, item_ids = ids["user_ids"], ids["item_ids"]
    positives = sp.load_npz(folder / "history.npz").tocsr()
    positives = sp.csr_matrix(
        (np.ones(positives.nnz, np.float32), positives.indices, positives.indptr), shape=positives.shape
    )
    by_item = positives.T.tocsr()  # item x user
    counts = np.asarray(positives.sum(axis=0)).ravel()
    con = duckdb.connect(str(folder / "recs.duckdb"), read_only=True)
    genres = {m: set(g) for m, g in con.sql("select movie_id, genres from catalog").fetchall()}
    column = {int(m): i for i, m in enumerate(item_ids.tolist())}
    row_of = {int(u): i for i, u in enumerate(user_ids.tolist())}
    # popularity gives no reasons by design: its lists do not come from the user's history
    models = [
        m for (m,) in con.sql("select distinct model from recommendations order by model").fetchall() if m != "popular"
    ]
    results: dict[str, dict] = {}
    for model in models:
        rows = con.sql(
            "select user_id, list(movie_id order by rank), list(reason_movie_id order by rank) "
            "from recommendations where model = ? and source = 'model' group by user_id",
            params=[model],
        ).fetchall()
        entries = given = in_top = shared = 0
        for user_id, movies, reasons in rows:
            entries += len(movies)
            row = row_of[int(user_id)]
            hist = positives.indices[positives.indptr[row] : positives.indptr[row + 1]]
            recommended = [column[m] for m in movies]
            # co-occurrence counts of each recommended movie with each history movie
            both = (by_item[recommended] @ by_item[hist].T).toarray()
            cosine = both / np.sqrt(np.outer(counts[recommended], counts[hist]))
            for r, reason in enumerate(reasons):
                if reason is None:
                    continue
                given += 1
                c = cosine[r]
                cut = np.sort(c)[::-1][min(top, len(c)) - 1]
                in_top += bool(c[np.flatnonzero(hist == column[reason])[0]] >= cut)
                shared += bool(genres[movies[r]] & genres[reason])
        results[model] = {
            "entries": entries,
            "top3": in_top / max(given, 1),
            "genre": shared / max(given, 1),
            "none": (entries - given) / max(entries, 1),
        }
    con.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--serving", type=Path, default=Path("warehouse/serving"), help="a serving folder")
    args = parser.parse_args()
    from recommender.version.registry import read_pointer

    pointer = read_pointer(args.serving)
    if pointer is None:
        raise SystemExit(f"no published version in {args.serving}: run `recsys run` first")
    results = measure(pointer.folder)
    print("| model | entries | among the top 3 co-occurring | sharing a genre | without a reason |")
    print("|---|---:|---:|---:|---:|")
    missed = []
    for model, r in results.items():
        print(f"| {model} | {r['entries']:,} | {r['top3']:.1%} | {r['genre']:.1%} | {r['none']:.1%} |")
        if r["top3"] < TARGETS["top3"] or r["genre"] < TARGETS["genre"] or r["none"] > TARGETS["none"]:
            missed.append(model)
    print(
        "targets: top 3 >= 95 %, genre >= 85 %, none <= 10 %: "
        + (f"missed by {', '.join(missed)}" if missed else "met by every model")
    )
    save_keyed("reasons", str(pointer.folder), {"models": results, "targets_met": not missed})


if __name__ == "__main__":
    main()
