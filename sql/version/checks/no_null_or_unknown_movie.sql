-- Every recommended (and every reason) movie is in the catalog.
select r.model, r.user_id, r.rank, r.movie_id, r.reason_movie_id
from recommendations as r
left join catalog as c on c.movie_id = r.movie_id
left join catalog as why on why.movie_id = r.reason_movie_id
where r.movie_id is null
   or c.movie_id is null
   or (r.reason_movie_id is not null and why.movie_id is null)
limit 10;
