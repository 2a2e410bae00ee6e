"""A model added from outside: one file, one registry entry (the ``recsys.models`` entry point
of its own distribution) and nothing else, then tuned, evaluated, published and served by the
project's own job and server, in a fresh process that sees the entry point."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from recommender.config import REPO_ROOT

TOY_MODEL = '''
"""Co-occurrence: a movie scores how often it was liked together with the user's positives."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from recommender.models.base import Params, Recommender


@dataclass(frozen=True)
class CooccurrenceParams(Params):
    min_count: int = 1


class Cooccurrence(Recommender):
    name = "cooccurrence"
    Params = CooccurrenceParams
    search_space = {"min_count": [1, 2, 3]}
    trials = 3

    def fit(self, user_items, *, times=None):
        binary = (user_items > 0).astype(np.float32)
        counts = (binary.T @ binary).tocsr()
        counts.setdiag(0)
        counts.data[counts.data < self.params.min_count] = 0
        counts.eliminate_zeros()
        self.counts_ = counts
        self.n_items = user_items.shape[1]
        return self

    def _candidates(self, users, history, n, exclude):
        scores = ((history > 0).astype(np.float32) @ self.counts_).toarray()
        scores[scores <= 0] = -np.inf
        top = np.argsort(-scores, axis=1, kind="stable")[:, :n]
        return top, np.take_along_axis(scores, top, axis=1)

    def _arrays(self):
        c = self.counts_
        return {"data": c.data, "indices": c.indices, "indptr": c.indptr}

    def _restore(self, arrays: Mapping[str, np.ndarray]) -> None:
        n = len(arrays["indptr"]) - 1
        self.counts_ = sp.csr_matrix((arrays["data"], arrays["indices"], arrays["indptr"]), shape=(n, n))
        self.n_items = n
'''

#: Run in the fresh process: the main job with tuning (no ranker), then the API.
SCRIPT = """
import json, sys
from pathlib import Path
from litestar.testing import TestClient

from recommender.cli import main
from recommender.config import Settings
from recommender.names import MODEL_NAMES
from recommender.warehouse import connect
from server import ServerConfig, create_app
from tests.movielens_fixtures import random_movielens

root = Path(sys.argv[1])
folder = random_movielens(root / "ml", users=80, movies=40)
warehouse = root / "warehouse" / "movielens.duckdb"
args = ["run", "-q", str(folder), "--split", "per-user", "--warehouse", str(warehouse)]
code = main(args + ["--out", str(root / "reports")])
settings = Settings(warehouse=warehouse, split_strategy="per_user")
con = connect(settings)
kinds = dict(con.execute("select kind, count(*) from runs where model = 'cooccurrence' group by kind").fetchall())
con.close()
config = ServerConfig.from_env(settings, environ={"RECSYS_FEEDBACK_DB": str(root / "feedback.duckdb")})
with TestClient(create_app(config)) as client:
    known = client.get("/recommend/1", params={"model": "cooccurrence", "k": 5}).json()
    visitor = client.post("/recommend", json={"liked": [1, 2, 3], "model": "cooccurrence", "k": 5}).json()
    schema = client.get("/schema/openapi.json").json()
print(json.dumps({"code": code, "names": list(MODEL_NAMES), "kinds": kinds, "known": known,
                  "visitor": visitor, "schema_has_it": "cooccurrence" in json.dumps(schema)}))
"""


@pytest.mark.slow
def test_a_registered_toy_model_is_tuned_evaluated_published_and_served(tmp_path: Path):
    plugin = tmp_path / "plugin"
    (plugin / "toy_recsys").mkdir(parents=True)
    (plugin / "toy_recsys" / "__init__.py").write_text("")
    (plugin / "toy_recsys" / "cooccurrence.py").write_text(textwrap.dedent(TOY_MODEL))
    # the registry entry: an entry point of the toy's own (unpacked) distribution
    dist = plugin / "toy_recsys-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: toy-recsys\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[recsys.models]\ncooccurrence = toy_recsys.cooccurrence:Cooccurrence\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECSYS_")}
    env["PYTHONPATH"] = os.pathsep.join([str(plugin), str(REPO_ROOT)])
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "job")],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["code"] == 0
    assert result["names"][-1] == "cooccurrence"  # after the built-in models
    # its three choices on val, the chosen one on test, then the production fit on every rating
    assert result["kinds"] == {"tune": 3, "evaluate": 1, "production": 1}
    assert result["known"]["model"] == "cooccurrence" and len(result["known"]["items"]) == 5
    assert result["known"]["tier"] == "personalised"
    assert result["visitor"]["model"] == "cooccurrence" and len(result["visitor"]["items"]) == 5
    assert not {1, 2, 3} & {item["movie_id"] for item in result["visitor"]["items"]}
    assert result["schema_has_it"]
