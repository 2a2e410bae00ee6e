-- Replace raw_tags with the rows of $path (inside the ingest transaction).
delete from raw_tags;
insert into raw_tags select * from read_tags_csv($path);
