-- (movie_id, genre) pairs of the catalog, one row per genre of a movie.
select
    movie_id,
    genre
from catalog, unnest(genres) as g(genre);
