-- A set of runs ($run_ids) side by side at K = 10, best NDCG first (what commands print).
select
    model,
    strategy,
    split,
    users,
    "precision",
    recall,
    ndcg,
    "map",
    mrr,
    hit_rate,
    coverage,
    diversity,
    novelty,
    fit_s,
    run_id
from run_table(10)
where list_contains($run_ids, run_id)
order by ndcg desc, model;
