-- The whole catalog of a version, loaded into memory when the server opens it.
select movie_id, title, year, genres, positive_count
from catalog;
