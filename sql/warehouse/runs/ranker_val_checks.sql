-- The ranker's params (its out-of-fold val checks) on each fold of the current split build:
-- the newest ranker evaluation of 'per_user' and of each 'per_user/f', made after that build.
select
    split_cutoffs.strategy,
    latest_runs.params
from latest_runs
join split_cutoffs on split_cutoffs.strategy = latest_runs.split_strategy
where latest_runs.kind = 'evaluate'
  and latest_runs.model = 'ranker'
  and (split_cutoffs.strategy = $strategy or split_cutoffs.strategy like $strategy || '/%')
  and latest_runs.created_at >= split_cutoffs.built_at
order by split_cutoffs.strategy;
