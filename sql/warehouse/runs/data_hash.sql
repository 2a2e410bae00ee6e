-- The content hashes of the newest ingest, in file order (what a run's data_hash covers).
select
    file,
    content_hash
from ingest_log
where ingest_id = (select ingest_id from ingest_log order by ingested_at desc limit 1)
order by file;
