-- The newest discovery sweep for $strategy: one point per (lambda, popularity penalty), val
-- numbers at $k (mean popularity: positives per listed movie in the data the lists were made from).
with
sweep as (
    select *
    from runs
    where kind = 'sweep'
      and model = 'diverse'
      and split_strategy = $strategy
      and params->>'popularity' is not null  -- older sweeps had no popularity penalty
    qualify row_number() over (
        partition by params->>'lam', params->>'popularity' order by created_at desc
    ) = 1
)
select
    (sweep.params->>'lam')::double as lam,
    (sweep.params->>'popularity')::double as popularity_penalty,
    max(m.value) filter (where m.metric = 'ndcg') as ndcg,
    max(m.value) filter (where m.metric = 'popularity') as popularity,
    max(m.value) filter (where m.metric = 'novelty') as novelty,
    max(m.value) filter (where m.metric = 'diversity') as diversity
from sweep
join run_metrics as m using (run_id)
where m.k = $k
group by all
order by popularity_penalty, lam;
