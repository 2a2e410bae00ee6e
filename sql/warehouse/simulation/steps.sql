-- The rows of simulation $simulation_id (null: the newest finished simulation), step by step.
select
    step,
    cutoff::date as cutoff,
    window_end::date as window_end,
    model,
    users,
    fallback_users,
    round(ndcg, 4) as ndcg,
    round(recall, 4) as recall,
    round(hit_rate, 4) as hit_rate,
    hits,
    round(coverage, 4) as coverage,
    round(fit_s, 1) as fit_s
from simulation_steps
where simulation_id = coalesce(
    $simulation_id,
    (select simulation_id from simulation_runs order by completed_at desc limit 1)
)
order by step, model;
