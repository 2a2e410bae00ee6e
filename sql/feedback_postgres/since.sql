-- Ratings stored after the seq "after", oldest first, at most "limit": one page of a copy.
select
    seq,
    user_id,
    movie_id,
    rating,
    extract(epoch from created_at)::bigint as ts
from feedback
where seq > %(after)s
order by seq
limit %(limit)s;
