-- One user's precomputed list for one model (titles etc. come from the in-memory catalog).
select
    rank,
    movie_id,
    score,
    source,
    reason_movie_id
from recommendations
where model = $model
  and user_id = $user_id
order by rank;
