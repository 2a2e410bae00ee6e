-- Ratings copied from the API so far, per store: rows, users, the watermark.
select
    store_id,
    count(*) as ratings,
    count(distinct user_id) as users,
    max(seq) as watermark,
    max(ingested_at) as last_ingested_at
from feedback_ratings
group by store_id
order by last_ingested_at desc;
