-- Replace raw_links with the rows of $path (inside the ingest transaction).
delete from raw_links;
insert into raw_links select * from read_links_csv($path);
