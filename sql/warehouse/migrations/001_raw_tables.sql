-- Raw MovieLens tables, loaded as-is by `recsys ingest` (sql/ingest/*.sql).
-- No constraints: the ingest validates rows itself so errors can name file and line.

create table raw_ratings (
    user_id integer,
    movie_id integer,
    rating float,
    ts bigint                 -- seconds since 1970-01-01 UTC, as in the CSV
);

create table raw_movies (
    movie_id integer,
    title varchar,            -- e.g. 'Toy Story (1995)'
    genres varchar            -- pipe-separated, or '(no genres listed)'
);

create table raw_tags (
    user_id integer,
    movie_id integer,
    tag varchar,
    ts bigint
);

create table raw_links (
    movie_id integer,
    imdb_id varchar,          -- keeps the leading zeros of the CSV
    tmdb_id integer
);

create table ingest_log (
    ingest_id varchar,
    ingested_at timestamp,
    source_dir varchar,
    file varchar,
    table_name varchar,
    rows bigint,
    bytes bigint,
    content_hash varchar,     -- sha256 of the file's bytes
    duration_s double
);
