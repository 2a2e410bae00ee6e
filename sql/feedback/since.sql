-- Ratings stored after $after (a seq), oldest first, at most $limit: one page of a copy.
select
    seq,
    user_id,
    movie_id,
    rating,
    epoch(created_at)::bigint as ts
from feedback
where seq > $after
order by seq
limit $limit;
