-- Replace raw_links with the rows of $path (inside the ingest transaction).
delete from raw_links;
insert into raw_links (movie_id, imdb_id, tmdb_id)
select movie_id, imdb_id, tmdb_id
from read_links_csv($path);
