-- The newest final (test) run of each model for $strategy, in the order of $models.
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
order by list_position($models, model);
