-- The newest hybrid sweep for $strategy: one point per (window, popularity weight), val NDCG at $k.
with
sweep as (
    select *
    from runs
    where kind = 'sweep'
      and model = 'hybrid'
      and split_strategy = $strategy
    qualify row_number() over (
        partition by params->>'window_days', params->>'weight' order by created_at desc
    ) = 1
)
select
    coalesce(sweep.params->>'window_days', 'all') as window_days,
    (sweep.params->>'weight')::double as weight,
    max(m.value) filter (where m.metric = 'ndcg') as ndcg
from sweep
join run_metrics as m using (run_id)
where m.k = $k
group by all
order by window_days, weight;
