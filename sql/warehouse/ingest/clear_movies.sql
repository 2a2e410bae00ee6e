-- No movies.csv in the folder: the table is emptied (inside the ingest transaction).
delete from raw_movies;
