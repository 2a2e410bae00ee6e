-- A user's latest rating per movie.
select distinct on (movie_id)
    movie_id,
    rating
from feedback
where user_id = %(user_id)s
order by movie_id, seq desc;
