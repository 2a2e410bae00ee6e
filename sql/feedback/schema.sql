-- A feedback store file (feedback.duckdb): ratings posted to the API. One server process
-- owns it read-write; `recsys ingest-feedback` reads it (read-only, or through the server).
-- seq numbers the ratings in the order they were stored: the watermark of each copy into
-- the warehouse. store_info names the file, so a replaced file is a new store.
create table if not exists feedback (
    user_id integer,
    movie_id integer,
    rating float,
    created_at timestamp
);

-- Files written before seq existed get it, numbered in the order the rows were stored.
alter table feedback add column if not exists seq bigint;

update feedback
set seq = numbered.n
from (
    select rowid as row_id, row_number() over (order by rowid) as n
    from feedback
) as numbered
where feedback.rowid = numbered.row_id
  and feedback.seq is null;

create table if not exists store_info (
    store_id varchar,
    created_at timestamp
);

insert into store_info (store_id, created_at)
select
    $store_id,
    now()::timestamp
where not exists (select 1 from store_info);
