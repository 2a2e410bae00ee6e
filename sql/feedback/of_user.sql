-- A user's latest rating per movie.
select movie_id, arg_max(rating, seq) as rating
from feedback
where user_id = $user_id
group by movie_id;
