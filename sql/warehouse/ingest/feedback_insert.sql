-- Copy one page of a store's ratings (registered as new_feedback); a (store_id, seq)
-- already present is skipped, so a repeated copy adds nothing.
insert into feedback_ratings (
    store_id,
    seq,
    user_id,
    movie_id,
    rating,
    ts,
    ingest_id,
    ingested_at
)
select
    $store_id,
    page.seq,
    page.user_id,
    page.movie_id,
    page.rating,
    page.ts,
    $ingest_id,
    now()::timestamp
from new_feedback as page
anti join (select seq from feedback_ratings where store_id = $store_id) as present using (seq);
