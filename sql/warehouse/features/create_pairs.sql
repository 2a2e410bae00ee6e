-- The (user, movie) pairs whose features pair_features.sql computes: a temporary table,
-- emptied for every batch.
create or replace temp table ranker_pairs (
    row_id bigint,
    user_id integer,
    movie_id integer
);
