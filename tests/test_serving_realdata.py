"""Serving truth on real MovieLens data: after the main job, no published list and no API
answer holds a movie the user rated, at any value (the defect the serving issue found:
26 % of ALS's top-20 rows were already rated)."""

import json
import re
import shutil

import duckdb
import numpy as np
import pytest
from litestar.testing import TestClient

from recommender.cli import main
from recommender.config import Settings
from recommender.names import MODEL_NAMES
from recommender.version.registry import read_pointer
from server import ServerConfig, create_app
from tests.conftest import real_data_dir

pytestmark = [pytest.mark.realdata, pytest.mark.slow]

MODELS = ("als", "diverse", "itemknn", "popular")


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    folder = real_data_dir()
    root = tmp_path_factory.mktemp("serving-real")
    settings = Settings(warehouse=root / "movielens.duckdb", split_strategy="per_user")
    assert (
        main(
            [
                "run",
                str(folder),
                "--split",
                "per-user",
                "--warehouse",
                str(settings.warehouse),
                "--out",
                str(root / "reports"),
                "--trials",
                "2",
            ]
        )
        == 0
    )
    return settings


def test_no_published_row_is_a_rated_movie(published):
    con = duckdb.connect()
    try:
        con.execute(f"attach '{read_pointer(published.serving_dir).folder / 'recs.duckdb'}' as recs (read_only)")
        con.execute(f"attach '{published.warehouse}' as wh (read_only)")
        rows = con.execute("select count(*) from recs.recommendations").fetchall()[0][0]
        rated = con.execute(
            "select count(*) from recs.recommendations r join wh.raw_ratings x using (user_id, movie_id)"
        ).fetchall()[0][0]
        users = con.execute("select count(distinct user_id) from recs.recommendations").fetchall()[0][0]
        raters = con.execute("select count(distinct user_id) from wh.raw_ratings").fetchall()[0][0]
        production = con.execute(
            "select count(*) from wh.runs where kind = 'production' and fit_parts = 'all' "
            "and evaluated_run_id is not null"
        ).fetchall()[0][0]
    finally:
        con.close()
    assert rows == (len(MODEL_NAMES) + 1) * 20 * users and rated == 0  # and the ranker's lists
    assert users == raters == 610  # every rater, the one without a positive included
    assert production == len(MODEL_NAMES)


def test_api_answers_never_hold_a_rated_movie(published, tmp_path):
    con = duckdb.connect(str(published.warehouse), read_only=True)
    try:
        users = [
            u
            for (u,) in con.execute(
                "select distinct user_id from raw_ratings using sample 40 rows (reservoir, 7)"
            ).fetchall()
        ]
        users += [68, 75]  # the examples: Back to the Future Part II and The Matrix, both rated 1.0
        rated = {
            u: {m for (m,) in con.execute("select movie_id from raw_ratings where user_id = ?", [u]).fetchall()}
            for u in users
        }
    finally:
        con.close()
    config = ServerConfig.from_env(
        published, environ={"RECSYS_FEEDBACK_DB": str(tmp_path / "fb.duckdb"), "RECSYS_ACCESS_LOG": "off"}
    )
    with TestClient(create_app(config)) as client:
        for user in users:
            for model in MODELS:
                body = client.get(f"/recommend/{user}?k=20&model={model}").json()
                assert len(body["items"]) == 20
                assert not {i["movie_id"] for i in body["items"]} & rated[user], (user, model)
            both = client.get(f"/compare/{user}?k=20").json()
            for side in ("accuracy", "discovery"):
                assert not {i["movie_id"] for i in both[side]["items"]} & rated[user], (user, side)


# -- request-time lists: filters, pages, sessions (issue #15) --------------------------------
GENRES = ("Action", "Comedy", "Documentary", "Drama", "Horror", "Romance", "Sci-Fi", "Animation", "Film-Noir")


def _oracle_scores(folder, model_name: str, row: int, history) -> np.ndarray:
    """Each movie's score for the user straight from the model's arrays (not through the
    serving code): -inf where the model does not score it."""
    from recommender.models import load as load_model

    model = load_model(folder / "models" / f"{model_name}.npz")
    x = history[row].toarray().ravel()
    if model_name == "als":
        return model.model_.user_factors[row] @ model.item_factors.T
    if model_name == "popular":
        return model.scores_.astype(np.float64)
    if model_name == "ease":
        out = np.full(len(x), -np.inf)
        if x[model.items_].any():
            out[model.items_] = x[model.items_] @ model.weights_
        return out
    sim = model.model_.similarity.tocsr()
    m = model.params.scoring_neighbours
    if m is None:
        scores = np.asarray(sim.T @ x).ravel()
    else:  # only the m largest similarities to the history count
        rows = np.sort(sim[np.flatnonzero(x)].toarray(), axis=0)[::-1]
        scores = rows[:m].sum(axis=0)
    return np.where(scores > 0, scores, -np.inf)


def test_filtered_lists_are_the_models_ranking_restricted_to_the_filter(published, tmp_path):
    """For random filters and users: every item matches, none was rated (any value, per the
    warehouse), and the list is the model's own top-k over the matching movies (its scores,
    computed here from the model's arrays), topped up with the most popular matching movies."""
    import scipy.sparse as sp

    folder = read_pointer(published.serving_dir).folder
    with np.load(folder / "ids.npz") as ids:
        user_ids, item_ids = ids["user_ids"], ids["item_ids"]
    history = sp.load_npz(folder / "history.npz").astype(bool).astype(np.float64).tocsr()
    counts = np.asarray(history.sum(axis=0)).ravel()
    con = duckdb.connect(str(published.warehouse), read_only=True)
    try:
        catalog = {
            m: (y, set(g or ())) for m, y, g in con.execute("select movie_id, year, genres from catalog").fetchall()
        }
        rated_rows = con.execute("select user_id, list(movie_id) from raw_ratings group by user_id").fetchall()
    finally:
        con.close()
    rated = {u: set(ms) for u, ms in rated_rows}
    rng = np.random.default_rng(15)
    config = ServerConfig.from_env(
        published, environ={"RECSYS_FEEDBACK_DB": str(tmp_path / "fb.duckdb"), "RECSYS_ACCESS_LOG": "off"}
    )
    checked = 0
    with TestClient(create_app(config)) as client:
        for case in range(16):
            user = int(rng.choice(user_ids))
            row = int(np.searchsorted(user_ids, user))
            genres = sorted(rng.choice(GENRES, size=int(rng.integers(1, 3)), replace=False).tolist())
            year_min = int(rng.integers(1930, 2000)) if rng.random() < 0.6 else None
            year_max = year_min + int(rng.integers(5, 40)) if year_min is not None and rng.random() < 0.5 else None
            exclude = [int(m) for m in rng.choice(item_ids, size=3, replace=False)]

            def keeps(movie_id: int, genres=genres, year_min=year_min, year_max=year_max, exclude=exclude) -> bool:
                year, movie_genres = catalog[movie_id]
                in_years = (year_min is None and year_max is None) or (
                    year is not None and (year_min or -1) <= year <= (year_max or 10**6)
                )
                return bool(movie_genres & set(genres)) and in_years and movie_id not in exclude

            allowed = np.array([keeps(int(m)) and int(m) not in rated[user] for m in item_ids])
            for model in ("als", "ease", "itemknn", "popular"):
                params = {"k": 10, "model": model, "genre": genres, "exclude": exclude}
                params.update({"year_min": year_min} if year_min is not None else {})
                params.update({"year_max": year_max} if year_max is not None else {})
                res = client.get(f"/recommend/{user}", params=params)
                assert res.status_code == 200, res.text
                items = res.json()["items"]
                got = [i["movie_id"] for i in items]
                assert all(keeps(m) for m in got), (case, model)
                assert not set(got) & rated[user], (case, model)
                scores = _oracle_scores(folder, model, row, history)
                scored = np.flatnonzero(allowed & np.isfinite(scores))
                best = scored[np.argsort(-scores[scored], kind="stable")][:10]
                from_model = [i for i in items if i["score"] is not None]
                # the model's part: its top scores over the matching movies, in order (ties may swap ids)
                top = scores[best][: len(from_model)]
                assert np.allclose([i["score"] for i in from_model], top, rtol=1e-5, atol=1e-5), (case, model)
                column = {int(m): c for c, m in enumerate(item_ids)}
                assert all(abs(scores[column[i["movie_id"]]] - i["score"]) < 1e-4 for i in from_model)
                # the rest: the most popular matching movies the model did not score
                rest = [column[i["movie_id"]] for i in items if i["score"] is None]
                if len(from_model) < len(best):
                    assert not rest, (case, model)
                others = np.setdiff1d(np.flatnonzero(allowed), [column[i["movie_id"]] for i in from_model])
                expected = others[np.argsort(-counts[others], kind="stable")][: len(rest)]
                assert counts[rest].tolist() == counts[expected].tolist(), (case, model)
                assert len(items) == min(10, int(allowed.sum())), (case, model)
                checked += len(items)
    assert checked > 400


def test_pages_never_repeat_and_start_with_the_precomputed_list(published, tmp_path):
    config = ServerConfig.from_env(
        published, environ={"RECSYS_FEEDBACK_DB": str(tmp_path / "fb.duckdb"), "RECSYS_ACCESS_LOG": "off"}
    )
    with TestClient(create_app(config)) as client:
        for user, model in ((1, "als"), (68, "ease"), (75, "itemknn"), (414, "diverse"), (610, "hybrid")):
            whole = client.get(f"/recommend/{user}", params={"k": 100, "model": model}).json()["items"]
            pages = []
            for offset in range(0, 100, 15):
                page = client.get(f"/recommend/{user}", params={"k": 15, "offset": offset, "model": model}).json()
                assert page["offset"] == offset
                pages += page["items"][: 100 - offset]
            ids = [i["movie_id"] for i in pages]
            assert len(ids) == 100 == len(set(ids)), (user, model)
            assert ids == [i["movie_id"] for i in whole]
            first = client.get(f"/recommend/{user}", params={"k": 20, "model": model}).json()["items"]
            assert [i["movie_id"] for i in first] == ids[:20]  # the precomputed page
            filtered = [
                i["movie_id"]
                for offset in (0, 10, 20)
                for i in client.get(
                    f"/recommend/{user}", params={"k": 10, "offset": offset, "model": model, "genre": "Comedy"}
                ).json()["items"]
            ]
            at_once = client.get(f"/recommend/{user}", params={"k": 30, "model": model, "genre": "Comedy"}).json()
            assert filtered == [i["movie_id"] for i in at_once["items"]] and len(set(filtered)) == 30
        past_end = client.get("/recommend/1", params={"k": 50, "offset": 180}).json()["items"]
        assert len(past_end) == 20  # lists end at depth 200
        similar = client.get("/similar/1", params={"k": 60}).json()["items"]
        paged = sum(
            (client.get("/similar/1", params={"k": 15, "offset": o}).json()["items"] for o in range(0, 60, 15)), []
        )
        assert [i["movie_id"] for i in paged] == [i["movie_id"] for i in similar] and len(similar) == 60
        assert len({i["movie_id"] for i in similar}) == 60 and 1 not in {i["movie_id"] for i in similar}


def test_session_recommendations_score_the_picks_and_store_nothing(published, tmp_path):
    from recommender.models import load as load_model

    folder = read_pointer(published.serving_dir).folder
    feedback = tmp_path / "fb.duckdb"
    config = ServerConfig.from_env(published, environ={"RECSYS_FEEDBACK_DB": str(feedback), "RECSYS_ACCESS_LOG": "off"})
    liked, disliked = [1, 260, 1196, 2571], [356]
    with TestClient(create_app(config)) as client:
        for model in ("als", "ease", "itemknn", "diverse"):
            res = client.post("/recommend", json={"liked": liked, "disliked": disliked, "k": 10, "model": model})
            assert res.status_code == 200, res.text
            body = res.json()
            got = [i["movie_id"] for i in body["items"]]
            assert body["tier"] == "fold-in" and len(got) == 10 and not set(got) & set(liked + disliked), model
            assert all(i["reason"] is None or i["reason"]["movie_id"] in liked for i in body["items"])
        # EASE from the picks: the history row times B, computed here
        ease = load_model(folder / "models" / "ease.npz")
        with np.load(folder / "ids.npz") as ids:
            item_ids = ids["item_ids"]
        x = np.isin(item_ids[ease.items_], liked).astype(np.float64)
        scores = x @ ease.weights_
        scores[np.isin(item_ids[ease.items_], liked + disliked)] = -np.inf
        expected = item_ids[ease.items_][np.argsort(-scores, kind="stable")][:10].tolist()
        got = client.post("/recommend", json={"liked": liked, "disliked": disliked, "model": "ease"}).json()["items"]
        assert [i["movie_id"] for i in got] == expected
        bad = client.post("/recommend", json={"liked": [1, 99999999], "disliked": [88888888]})
        assert bad.status_code == 404 and "[88888888, 99999999]" in bad.json()["detail"]
        assert client.post("/recommend", json={"liked": []}).status_code == 400
        assert client.get("/stats").status_code == 200
    con = duckdb.connect(str(feedback), read_only=True)
    try:
        assert con.execute("select count(*) from feedback").fetchall()[0][0] == 0  # nothing stored
    finally:
        con.close()


def _offline_ranker(settings: Settings, rows_seed: int = 3, n: int = 30):
    """(user ids, item ids, rows, lists, each entry's top feature, raters) of the active version's
    ranker run offline over its production sources with the warehouse's own feature store as of
    every rating."""
    from recommender.models import load as load_model
    from recommender.models.ranker import SEQUENCE_DEPTHS, SOURCES, load_ranker
    from recommender.sparse import recent_history
    from recommender.sqlfiles import SqlLibrary
    from recommender.version.live import read_state
    from recommender.warehouse.features import materialize_features, pair_features

    folder = read_pointer(settings.serving_dir).folder
    state = read_state(folder)
    user_ids, item_ids, history, rated = state.user_ids, state.item_ids, state.history, state.rated
    ranker = load_ranker(folder / "models" / "ranker.npz")
    sql = SqlLibrary(settings.sql_dir)
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        materialize_features(con, sql, settings.split_strategy, "test")
        sources = {name: load_model(folder / "models" / f"{name}.npz") for name in SOURCES}
        ranker.attach(
            sources,
            ranker.booster,
            lambda rows, items: pair_features(con, sql, "", "", user_ids[rows], item_ids[items], materialized=True),
            recent_history(history, state.times, max(SEQUENCE_DEPTHS)),
        )
        rows = np.sort(np.random.default_rng(rows_seed).choice(len(user_ids), size=12, replace=False))
        offline, top_feature = ranker.recommend_explained(rows, history, n, rated)
        raters = dict(con.execute("select user_id, list(movie_id) from raw_ratings group by user_id").fetchall())
    finally:
        con.close()
    return user_ids, item_ids, rows, offline, top_feature, raters


def _check_ranker_answers(settings: Settings, tmp_path, precomputed: bool) -> None:
    user_ids, item_ids, rows, offline, top_feature, raters = _offline_ranker(settings)
    config = ServerConfig.from_env(
        settings, environ={"RECSYS_FEEDBACK_DB": str(tmp_path / "fb.duckdb"), "RECSYS_ACCESS_LOG": "off"}
    )
    with TestClient(create_app(config)) as client:
        assert ("ranker" in client.app.state.serving.current().lists) == precomputed
        for i, row in enumerate(rows.tolist()):
            user = int(user_ids[row])
            expected = [int(item_ids[j]) for j in offline.items[i] if j >= 0]
            expected_by = [str(f) for j, f in zip(offline.items[i], top_feature[i]) if j >= 0]
            body = client.get(f"/recommend/{user}", params={"k": 20, "model": "ranker"}).json()
            got = [item["movie_id"] for item in body["items"]]
            assert body["tier"] == "personalised" and got == expected[:20], user
            assert [item["ranked_by"] for item in body["items"]] == expected_by[:20], user
            assert not set(got) & set(raters[user])
            # a page past the precomputed 20 continues the same ranking
            deep = client.get(f"/recommend/{user}", params={"k": 10, "offset": 20, "model": "ranker"}).json()
            assert [item["movie_id"] for item in deep["items"]] == expected[20:], user
            assert [item["ranked_by"] for item in deep["items"]] == expected_by[20:], user
        session = client.post("/recommend", json={"liked": [1, 260, 1196], "model": "ranker"}).json()
        assert len(session["items"]) == 10 and not {1, 260, 1196} & {i["movie_id"] for i in session["items"]}
        filtered = client.get("/recommend/1", params={"model": "ranker", "genre": "Horror", "k": 5}).json()["items"]
        assert len(filtered) == 5 and all("Horror" in i["genres"] for i in filtered)


def test_the_ranker_is_served_from_the_production_sources_and_the_feature_store(published, tmp_path):
    """The version's precomputed ranker lists (and its deeper pages, scored at request time)
    equal the two-stage ranker run offline over the production sources with the warehouse's own
    feature store as of every rating (so the version's copy of the feature tables and the
    serving wiring change nothing); never a rated movie; each entry says which feature raised
    it most."""
    _check_ranker_answers(published, tmp_path, precomputed=True)


def test_recsys_versions_lists_the_rankers_test_score_with_the_others(published, capsys):
    """`recsys versions` names every served model's test NDCG@10, the ranker's included, best first."""
    capsys.readouterr()
    assert main(["versions", "--warehouse", str(published.warehouse)]) == 0
    shown = capsys.readouterr().out
    scores = re.findall(r"(popular|itemknn|als|diverse|hybrid|ease|ranker) (0\.\d+)", shown)
    models = [model for model, _ in scores]
    assert "ranker" in models and "als" in models and "diverse" in models, shown
    first = scores[: len(set(models))]  # the newest version's row
    values = [float(v) for _, v in first]
    assert values == sorted(values, reverse=True), shown


def test_a_version_over_the_precompute_limit_scores_the_ranker_at_request_time(published, tmp_path, monkeypatch):
    """With more users than ``ranker_precompute_users`` (here 0) a version holds no ranker
    lists, and the ranker answers the same way at request time."""
    warehouse = tmp_path / "movielens.duckdb"  # a copy: the module's other tests read the original
    shutil.copy(published.warehouse, warehouse)
    monkeypatch.setenv("RECSYS_ARTIFACTS_DIR", str(tmp_path / "artifacts"))
    monkeypatch.setenv("RECSYS_RANKER_PRECOMPUTE_USERS", "0")
    assert main(["precompute", "--warehouse", str(warehouse)]) == 0
    settings = published.replace(warehouse=warehouse, artifacts_dir=tmp_path / "artifacts", ranker_precompute_users=0)
    con = duckdb.connect(str(read_pointer(settings.serving_dir).folder / "recs.duckdb"), read_only=True)
    try:
        assert con.execute("select count(*) from recommendations where model = 'ranker'").fetchall()[0][0] == 0
    finally:
        con.close()
    _check_ranker_answers(settings, tmp_path, precomputed=False)


def test_the_rankers_candidates_are_stored_with_each_sources_score_and_rank(published):
    con = duckdb.connect(str(published.warehouse), read_only=True)
    try:
        run = con.execute("select run_id from latest_runs where kind = 'evaluate' and model = 'ranker'").fetchall()[0][
            0
        ]
        rows, pairs, sources, lo, hi, hits, dupes = con.execute(
            "select count(*), count(distinct (user_id, movie_id)), count(distinct source), min(rank), max(rank), "
            "avg(is_hit::int), count(*) - count(distinct (user_id, movie_id, source)) "
            "from candidate_scores where run_id = ? and upto = 'train'",
            [run],
        ).fetchall()[0]
    finally:
        con.close()
    assert sources == 4 and lo == 1 and hi == 100 and dupes == 0
    assert pairs < rows <= 4 * pairs  # pairs proposed by several sources have one row per source
    assert 0 < hits < 0.2
    con = duckdb.connect(str(published.warehouse), read_only=True)
    try:
        tested, test_hits = con.execute(
            "select count(distinct user_id), avg(is_hit::int) from candidate_scores where run_id = ? and upto = 'val'",
            [run],
        ).fetchall()[0]
        scored = con.execute("select n_users from runs where run_id = ?", [run]).fetchall()[0][0]
    finally:
        con.close()
    assert tested == scored and 0 < test_hits < 0.2  # the evaluation's users, labelled by test


ITEM_RECENCY = "select movie_id, recent_30d, recent_90d, recent_365d from item_features('per_user', 'test')"
USER_RECENCY = "select user_id, days_since_last from user_features('per_user', 'test')"


def _clock_readings(warehouse) -> dict:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return {
            "items": {m: r for m, *r in con.execute(ITEM_RECENCY).fetchall()},
            "users": dict(con.execute(USER_RECENCY).fetchall()),
            "window": dict(con.execute("select movie_id, recent_positive_count from item_popularity").fetchall()),
            "now": con.execute("select max(ts) from ratings").fetchall()[0][0],
            "log_end": con.execute("select max(ts) from raw_ratings").fetchall()[0][0],
        }
    finally:
        con.close()


def test_api_ratings_on_historical_data_keep_every_recency_feature(published, tmp_path, monkeypatch):
    """The log clock: six ratings posted today onto the 2018 data, then ingest-feedback and
    retrain. Every movie's recent counts (30, 90, 365 days; the hybrid's popularity window)
    keep their values except for what the six add, days_since_last moves only by the seconds
    the new ratings span, and the retrained ranker still learns from the recency features."""
    warehouse = tmp_path / "movielens.duckdb"  # a copy: the module's other tests read the original
    shutil.copy(published.warehouse, warehouse)
    settings = published.replace(warehouse=warehouse, artifacts_dir=tmp_path / "artifacts")
    monkeypatch.setenv("RECSYS_ARTIFACTS_DIR", str(settings.artifacts_dir))
    before = _clock_readings(warehouse)
    assert sum(r[2] > 0 for r in before["items"].values()) > 1000  # the log's last year is busy
    feedback = tmp_path / "fb.duckdb"
    config = ServerConfig.from_env(published, environ={"RECSYS_FEEDBACK_DB": str(feedback), "RECSYS_ACCESS_LOG": "off"})
    posted = {1: [6377, 4886, 8961], 100_001: [1, 3114, 6377]}  # a known user, a new one
    with TestClient(create_app(config)) as client:
        for user, movies in posted.items():
            for movie in movies:
                res = client.post(f"/users/{user}/ratings", json={"movie_id": movie, "rating": 5.0})
                assert res.status_code in (200, 201), res.text
    args = ["--warehouse", str(warehouse), "--feedback-db", str(feedback)]
    assert main(["ingest-feedback", *args]) == 0
    assert main(["retrain", *args]) == 0
    after = _clock_readings(warehouse)

    # the API ratings sit just after the log's end, in their order, not in 2026
    assert before["now"] == before["log_end"] == after["log_end"]
    assert after["log_end"] < after["now"] <= after["log_end"] + 60
    added: dict[int, int] = {}
    for movies in posted.values():
        for movie in movies:
            added[movie] = added.get(movie, 0) + 1
    for movie, counts in before["items"].items():
        assert after["items"][movie] == [c + added.get(movie, 0) for c in counts], movie
    for movie, count in before["window"].items():
        assert after["window"][movie] == count + added.get(movie, 0), movie
    moved = (after["now"] - before["now"]) / 86400.0
    for user, days in before["users"].items():
        if user not in posted:
            assert after["users"][user] == pytest.approx(days + moved, abs=1e-6), user
    assert after["users"][1] == pytest.approx(0.0, abs=60 / 86400)

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        (params,) = con.execute(
            "select params from runs where model = 'ranker' and kind = 'evaluate' order by created_at desc limit 1"
        ).fetchall()[0]
    finally:
        con.close()
    importance = json.loads(params)["importance"]
    assert sum(importance[f] for f in ("recent_30d", "recent_90d", "recent_365d")) > 0


def test_a_visitor_asking_for_the_ranker_gets_it_only_where_it_won_on_val_visitors(published, tmp_path):
    """A visitor's request for the ranker is answered by the model the version names for
    visitors: the ranker itself (its entries ranked_by a feature), or, when the ranker did not
    beat its best source on val users seen as visitors (out of fold), the best single model, whose
    list it then is, each entry ranked_by that model's name."""
    from recommender.evaluation.default_model import ACCURACY_MODELS
    from recommender.models.ranker import RANKER_FEATURES

    picks = {"liked": [1, 3114, 6377, 4886], "disliked": [296]}
    config = ServerConfig.from_env(published, environ={"RECSYS_FEEDBACK_DB": str(tmp_path / "fb.duckdb")})
    with TestClient(create_app(config)) as client:
        live = client.app.state.serving.current().live
        assert live.visitor_model in (*ACCURACY_MODELS, "ranker")
        for answering in ("ease", "ranker"):  # both branches, whichever the version chose
            live.visitor_model = answering
            asked = client.post("/recommend", json={**picks, "model": "ranker"}).json()
            assert asked["model"] == "ranker" and asked["tier"] == "fold-in" and len(asked["items"]) == 10
            got = [i["movie_id"] for i in asked["items"]]
            assert not set(got) & {1, 3114, 6377, 4886, 296}
            if answering == "ease":
                single = client.post("/recommend", json={**picks, "model": "ease"}).json()
                assert got == [i["movie_id"] for i in single["items"]]
                assert {i["ranked_by"] for i in asked["items"]} == {"ease"}
            else:
                assert {i["ranked_by"] for i in asked["items"]} <= {*RANKER_FEATURES, None}


def test_a_request_that_names_no_model_gets_the_versions_winner_on_val(published, tmp_path):
    from recommender.evaluation.default_model import ACCURACY_MODELS

    config = ServerConfig.from_env(published, environ={"RECSYS_FEEDBACK_DB": str(tmp_path / "fb.duckdb")})
    with TestClient(create_app(config)) as client:
        default = client.get("/health").json()["default_model"]
        assert default in (*ACCURACY_MODELS, "ranker")
        plain = client.get("/recommend/1").json()
        named = client.get(f"/recommend/1?model={default}").json()
        assert plain["model"] == default and plain["items"] == named["items"]
        assert client.get("/compare/1").json()["accuracy"]["model"] == default
        session = client.post("/recommend", json={"liked": [1, 3114, 6377, 4886]}).json()
        assert session["model"] == default
