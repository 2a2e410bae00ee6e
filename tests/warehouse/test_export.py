import numpy as np

from recommender.warehouse.export import load_split


def test_csr_matrices_match_the_split_tables(loaded_warehouse, sql):
    con, _ = loaded_warehouse
    for strategy in ("global", "per_user"):
        data = load_split(con, sql, strategy)
        train = data.matrix("train")
        assert train.shape == data.shape == (len(data.user_ids), len(data.item_ids))
        assert train.format == "csr" and train.dtype == np.float32
        assert train.nnz == data.train.num_rows
        assert np.all(np.diff(data.user_ids) > 0) and np.all(np.diff(data.item_ids) > 0)
        for part in ("val", "test"):
            m = data.matrix(part)
            (kept,) = con.execute(
                "select count(*) from split_interactions where strategy = ? and part = ? and kept", [strategy, part]
            ).fetchall()[0]
            assert m.nnz == kept
            assert train.multiply(m).nnz == 0, "train and held-out parts overlap"
        both = data.matrix("train", "val")
        assert both.nnz == train.nnz + data.matrix("val").nnz
        # a spot check of one entry in MovieLens ids
        u, i, t = data.train.column("user_id")[0].as_py(), data.train.column("movie_id")[0].as_py(), data.train.column("ts")[0].as_py()
        r, c = data.user_index([u])[0], data.item_index([i])[0]
        assert train[r, c] == 1.0 and data.time_matrix("train")[r, c] == t
        assert data.user_index([-5])[0] == -1
