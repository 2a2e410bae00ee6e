-- Replace raw_movies with the rows of $path (MovieLens 1M / 10M movies.dat, in $encoding) (inside the
-- ingest transaction).
delete from raw_movies;
insert into raw_movies (movie_id, title, genres)
select movie_id, title, genres
from read_dat_movies($path, $encoding);
