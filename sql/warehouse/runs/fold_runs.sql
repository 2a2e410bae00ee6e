-- The newest test evaluation of each model on each fold of the current split build: $strategy
-- ('per_user', 'crossfold') and its folds ('per_user/2', ...), only runs made after that fold
-- was built (an older run scored other cut-offs).
select
    split_cutoffs.strategy,
    latest_runs.model,
    latest_runs.run_id
from latest_runs
join split_cutoffs on split_cutoffs.strategy = latest_runs.split_strategy
where latest_runs.kind = 'evaluate'
  and latest_runs.eval_split = 'test'
  and (split_cutoffs.strategy = $strategy or split_cutoffs.strategy like $strategy || '/%')
  and latest_runs.created_at >= split_cutoffs.built_at
order by split_cutoffs.strategy, latest_runs.model;
