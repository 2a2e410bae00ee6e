-- The files of the newest ingest with their hashes and sizes (an unchanged folder is skipped).
select
    file,
    content_hash,
    bytes
from ingest_log
where ingest_id = (select ingest_id from ingest_log order by ingested_at desc limit 1);
