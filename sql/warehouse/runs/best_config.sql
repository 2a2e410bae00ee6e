-- The newest tuned configuration of $model for $strategy (none: the model's defaults).
select
    params
from model_configs
where model = $model
  and split_strategy = $strategy
order by selected_at desc
limit 1;
