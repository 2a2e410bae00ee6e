-- The newest test evaluation of the two-stage ranker on $strategy with a saved booster: what a
-- version serves (with the production fits as its sources).
select run_id, artifact
from runs
where kind = 'evaluate'
  and model = 'ranker'
  and eval_split = 'test'
  and split_strategy = $strategy
  and artifact is not null
order by created_at desc
limit 1;
