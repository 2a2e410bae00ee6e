-- Replace raw_tags with the rows of $path (MovieLens 10M tags.dat, in $encoding) (inside the ingest transaction).
delete from raw_tags;
insert into raw_tags (user_id, movie_id, tag, ts)
select user_id, movie_id, tag, ts
from read_dat_tags($path, $encoding);
