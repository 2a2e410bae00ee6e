-- Replace raw_ratings with the rows of $path (inside the ingest transaction).
delete from raw_ratings;
insert into raw_ratings select * from read_ratings_csv($path);
