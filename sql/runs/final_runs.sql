-- The newest final (test) run of each model for $strategy.
select
    run_id,
    model,
    params,
    n_users,
    created_at
from latest_runs
where kind = 'evaluate'
  and eval_split = 'test'
  and split_strategy = $strategy
order by case model when 'popular' then 0 when 'itemknn' then 1 when 'als' then 2 else 3 end;
