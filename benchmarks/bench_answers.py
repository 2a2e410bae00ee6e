"""The cost of one uncached answer, in process (no sockets, no load generator): the server's
service layer over a published version, with the answer cache off.

    python benchmarks/bench_answers.py --warehouse benchmarks/out/main_job/movielens.duckdb

Times 300 seeded users' first pages (the precomputed lists), pages past the precomputed 20
(scored now) and 5-pick sessions, the models als / ease / itemknn / diverse in turn, and prints
milliseconds per answer as JSON. For an A/B between two checkouts, run it alternately with
PYTHONPATH pointing at each: it also speaks the service layer of the code before the answer
pipeline (``service.recommend(state, snapshot, user, model, k, offset, query, generation)``).
"""

from __future__ import annotations

import argparse
import inspect
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(1, str(ROOT))  # after PYTHONPATH: an A/B run's checkout comes first

MODELS = ("als", "ease", "itemknn", "diverse")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", type=Path, default=ROOT / "benchmarks" / "out" / "main_job" / "movielens.duckdb")
    parser.add_argument("--users", type=int, default=300)
    args = parser.parse_args()

    from recommender.config import Settings
    from server import schemas as S
    from server import service
    from server.config import ServerConfig
    from server.requestlog import RequestLog
    from server.state import ServingState

    settings = Settings(warehouse=args.warehouse)
    environ = {"RECSYS_CACHE_SIZE": "0", "RECSYS_FEEDBACK_DB": str(Path(tempfile.mkdtemp()) / "feedback.duckdb")}
    state = ServingState(ServerConfig.from_env(settings, environ=environ), RequestLog(False))
    version = state.current()
    lists = version.lists["als"]
    users = [int(u) for u in np.random.default_rng(0).choice(lists.users, args.users, replace=False)]
    paged = "page" in inspect.signature(service.recommend).parameters

    def page(user: int, model: str, offset: int):
        if paged:
            from recommender.version.answer import Page

            return service.recommend(state, version, user, Page(model, 10, offset), 0)
        return service.recommend(state, version, user, model, 10, offset, service.NO_FILTER, 0)

    def session(i: int):
        picks = [int(m) for m in lists.movie_ids[lists.starts[i] : lists.starts[i] + 5]]
        return service.session(version, S.SessionIn(liked=picks, k=10, model=MODELS[i % len(MODELS)]))

    cases = {
        "first_page": lambda i, u: page(u, MODELS[i % 4], 0),
        "page_past_20": lambda i, u: page(u, MODELS[i % 4], 20 + 10 * (i % 8)),
        "session_5_picks": lambda i, u: session(i),
    }
    result = {"warehouse": str(args.warehouse), "users": len(users)}
    for name, answer in cases.items():
        for i, user in enumerate(users[:20]):  # warm up
            answer(i, user)
        started = time.perf_counter()
        for i, user in enumerate(users):
            answer(i, user)
        result[f"{name}_ms"] = round((time.perf_counter() - started) / len(users) * 1000, 3)
    state.close()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
