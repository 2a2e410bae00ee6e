-- Replace raw_movies with the rows of $path (MovieLens 100K u.item) (inside the ingest transaction).
delete from raw_movies;
insert into raw_movies (movie_id, title, genres)
select movie_id, title, genres
from read_ml100k_movies($path);
