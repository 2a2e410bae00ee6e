-- `recsys versions`: every version, newest first, with the test NDCG@10 of each model it serves.
select
    version,
    status,
    created_at::timestamp_s as created_at,
    published_at::timestamp_s as published_at,
    split_strategy,
    rows,
    round((metrics->'als'->>'ndcg')::double, 4) as als_ndcg,
    round((metrics->'diverse'->>'ndcg')::double, 4) as diverse_ndcg,
    round((metrics->'itemknn'->>'ndcg')::double, 4) as itemknn_ndcg,
    round((metrics->'popular'->>'ndcg')::double, 4) as popular_ndcg,
    failed_check,
    regexp_extract(path, '[^/]+$') as folder
from model_versions
order by version desc;
