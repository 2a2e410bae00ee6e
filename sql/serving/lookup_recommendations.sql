-- One user's precomputed list for one model, with the catalog fields the API returns.
select
    r.rank,
    r.movie_id,
    c.title,
    c.year,
    c.genres,
    r.score,
    r.source,
    r.reason_movie_id,
    why.title as reason_title
from recommendations as r
join catalog as c on c.movie_id = r.movie_id
left join catalog as why on why.movie_id = r.reason_movie_id
where r.model = $model
  and r.user_id = $user_id
order by r.rank;
