-- The run log: every train / tune / evaluate / sweep run, its numbers, and per-user values
-- (for paired comparisons and bootstrap confidence intervals).

create table runs (
    run_id varchar,
    created_at timestamp,
    kind varchar,             -- train | tune | evaluate | sweep
    model varchar,            -- popular | itemknn | als | diverse
    params json,
    split_strategy varchar,   -- global | per_user
    eval_split varchar,       -- val | test: the part every number of this run comes from
    fit_parts varchar,        -- 'train' or 'train+val'
    split_cutoffs json,
    data_hash varchar,        -- sha256 over the ingested files' hashes
    code_version varchar,     -- git commit (+dirty) or package version
    seed integer,
    fit_s double,
    recommend_s double,
    metrics_s double,
    total_s double,
    peak_rss_mb double,       -- the process's peak resident memory at the end of the run
    n_users integer,          -- users the ranking metrics average over
    artifact varchar,         -- .npz of the fitted model, if saved
    settings json
);

create table run_metrics (
    run_id varchar,
    split varchar,
    k integer,
    metric varchar,           -- precision | recall | ndcg | map | mrr | hit_rate | coverage | diversity | novelty
    value double,
    n_users integer
);

create table run_user_metrics (
    run_id varchar,
    split varchar,
    k integer,
    metric varchar,
    user_id integer,
    value double
);

-- The configuration chosen by tuning (on val) for each model; the newest row wins.
create table model_configs (
    model varchar,
    params json,
    source_run_id varchar,
    split_strategy varchar,
    metric varchar,
    k integer,
    value double,
    selected_at timestamp
);

-- Runs side by side at cut-off k, newest first.
create or replace macro run_table(k) as table
with
pivoted as (
    select
        run_id,
        max(value) filter (where metric = 'precision') as "precision",
        max(value) filter (where metric = 'recall') as recall,
        max(value) filter (where metric = 'ndcg') as ndcg,
        max(value) filter (where metric = 'map') as "map",
        max(value) filter (where metric = 'mrr') as mrr,
        max(value) filter (where metric = 'hit_rate') as hit_rate,
        max(value) filter (where metric = 'coverage') as coverage,
        max(value) filter (where metric = 'diversity') as diversity,
        max(value) filter (where metric = 'novelty') as novelty
    from run_metrics
    where run_metrics.k = k
    group by run_id
)
select
    runs.run_id,
    runs.created_at,
    runs.kind,
    runs.model,
    runs.split_strategy as strategy,
    runs.eval_split as split,
    runs.n_users as users,
    round(pivoted."precision", 4) as "precision",
    round(pivoted.recall, 4) as recall,
    round(pivoted.ndcg, 4) as ndcg,
    round(pivoted."map", 4) as "map",
    round(pivoted.mrr, 4) as mrr,
    round(pivoted.hit_rate, 4) as hit_rate,
    round(pivoted.coverage, 4) as coverage,
    round(pivoted.diversity, 4) as diversity,
    round(pivoted.novelty, 3) as novelty,
    round(runs.fit_s, 2) as fit_s,
    runs.params
from runs
join pivoted using (run_id)
order by runs.created_at desc;

-- The newest run of each (kind, model, split): what reports compare.
create or replace view latest_runs as
select *
from runs
qualify row_number() over (
    partition by kind, model, eval_split, split_strategy order by created_at desc
) = 1;
