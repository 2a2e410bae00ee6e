-- Replace raw_tags with the rows of $path (inside the ingest transaction).
delete from raw_tags;
insert into raw_tags (user_id, movie_id, tag, ts)
select user_id, movie_id, tag, ts
from read_tags_csv($path);
