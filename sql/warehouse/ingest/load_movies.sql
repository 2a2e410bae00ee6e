-- Replace raw_movies with the rows of $path (inside the ingest transaction).
delete from raw_movies;
insert into raw_movies select * from read_movies_csv($path);
