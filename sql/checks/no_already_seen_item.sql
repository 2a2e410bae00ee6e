-- No list contains a movie the user already interacted with (train + val history).
select r.model, r.user_id, r.movie_id
from recommendations as r
join seen_history as h using (user_id, movie_id)
limit 10;
