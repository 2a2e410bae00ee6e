-- Store one rating posted to the API, numbered after the last one (one writer per file).
insert into feedback (seq, user_id, movie_id, rating, created_at)
select
    coalesce(max(seq), 0) + 1,
    $user_id,
    $movie_id,
    $rating,
    timezone('UTC', now())  -- UTC wall time, whatever the session's time zone: epoch() reads it as UTC
from feedback
returning seq;
