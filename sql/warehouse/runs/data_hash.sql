-- What a run's data_hash covers: the content hashes of the newest CSV ingest, in file
-- order, and how far each API feedback store has been copied.
select
    file as source,
    content_hash as state
from ingest_log
where ingest_id = (select ingest_id from ingest_log order by ingested_at desc limit 1)
union all
select
    'feedback:' || store_id,
    max(seq)::varchar
from feedback_ratings
group by store_id
order by source;
