-- The most similar movies to $movie_id (ItemKNN cosine), best first, from the ($offset + 1)-th.
select s.similar_movie_id as movie_id, c.title, c.year, c.genres, s.score
from similar_movies as s
join catalog as c on c.movie_id = s.similar_movie_id
where s.movie_id = $movie_id
order by s.rank
limit $k offset $offset;
