-- The newest test evaluation of the two-stage ranker on $strategy: its saved booster is what a
-- version serves (with the production fits as its sources).
select run_id, artifact
from latest_runs
where kind = 'evaluate'
  and model = 'ranker'
  and eval_split = 'test'
  and split_strategy = $strategy
  and artifact is not null;
