-- Split strategies other than $strategy that have final (test) runs: a hint for a user
-- whose configured strategy has none.
select distinct split_strategy
from latest_runs
where kind = 'evaluate'
  and eval_split = 'test'
  and split_strategy <> $strategy
order by split_strategy;
