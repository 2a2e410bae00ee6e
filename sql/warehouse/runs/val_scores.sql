-- The val NDCG@10 each model's tuning or sweep chose it by, for $strategy (newest choice).
select model, value
from model_configs
where split_strategy = $strategy
qualify row_number() over (partition by model order by selected_at desc) = 1
order by model;
