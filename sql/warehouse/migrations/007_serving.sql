-- Published recommendation versions. Each version is an immutable folder
-- (serving/vNNNN/recs.duckdb + als.npz); serving/ACTIVE.json names the active one.

create table model_versions (
    version integer,
    path varchar,
    status varchar,           -- active | superseded | rejected
    created_at timestamp,
    published_at timestamp,
    split_strategy varchar,
    runs json,                -- {model: run_id} of the evaluated runs it serves
    metrics json,             -- {model: {metric: value}} at K = 10 on test
    failed_check varchar,     -- for rejected versions: the check that returned rows
    rows bigint
);
