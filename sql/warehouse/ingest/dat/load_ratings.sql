-- Replace raw_ratings with the rows of $path (MovieLens 1M / 10M ratings.dat) (inside the ingest transaction).
delete from raw_ratings;
insert into raw_ratings (user_id, movie_id, rating, ts)
select user_id, movie_id, rating, ts
from read_dat_ratings($path);
