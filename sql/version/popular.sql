-- The cold-start list: movies by popularity, most popular first.
select movie_id, score
from popular_movies
order by rank;
