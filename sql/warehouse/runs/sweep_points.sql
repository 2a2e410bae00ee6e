-- The newest lambda sweep for $strategy: one point per (similarity, lambda), val numbers at $k.
with
sweep as (
    select *
    from runs
    where kind = 'sweep'
      and model = 'diverse'
      and split_strategy = $strategy
    qualify row_number() over (
        partition by params->>'similarity', params->>'lam' order by created_at desc
    ) = 1
)
select
    sweep.params->>'similarity' as similarity,
    (sweep.params->>'lam')::double as lam,
    max(m.value) filter (where m.metric = 'ndcg') as ndcg,
    max(m.value) filter (where m.metric = 'diversity') as diversity,
    max(m.value) filter (where m.metric = 'coverage') as coverage
from sweep
join run_metrics as m using (run_id)
where m.k = $k
group by all
order by similarity, lam;
