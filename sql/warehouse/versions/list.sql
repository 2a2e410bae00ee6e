-- `recsys versions`: every version, newest first, with the test NDCG@10 of each model it
-- serves, the two-stage ranker included (from the evaluation runs it publishes), best first.
select
    version,
    status,
    created_at::timestamp_s as created_at,
    published_at::timestamp_s as published_at,
    split_strategy,
    rows,
    (
        select string_agg(model || ' ' || round((metrics->model->>'ndcg')::double, 4)::varchar, ', ' order by (metrics->model->>'ndcg')::double desc, model)
        from unnest(json_keys(metrics)) as t(model)
    ) as test_ndcg_at_10,
    failed_check,
    regexp_extract(path, '[^/]+$') as folder
from model_versions
order by version desc;
