-- The configuration tuning chose for a model (the newest row per model and strategy wins).
insert into model_configs (model, params, source_run_id, split_strategy, metric, k, value, selected_at)
values ($model, $params, $source_run_id, $split_strategy, $metric, $k, $value, now()::timestamp);
