-- Stricter row rules for the MovieLens CSVs (the ones of 005 stay for warehouses that
-- applied it; the ingest queries use these). Refused, with file and line:
--   * ids that are not positive;
--   * ratings that are not on MovieLens's half-star scale (0.5, 1.0, ..., 5.0);
--   * a movieId listed twice in movies.csv (the second title would shadow the first);
--   * a rating of a movie movies.csv does not list (it could be recommended but never shown).
-- Reported and counted in ingest_log.warnings, not refused:
--   * a file whose last line has no line break: a cut-off last line reads as valid numbers
--     (a timestamp cut short is still an integer), so the ingest says so.

create or replace macro ratings_row_problem_v2(user_id, movie_id, rating, ts) as
    case
        when user_id is null then 'userId is empty'
        when movie_id is null then 'movieId is empty'
        when rating is null then 'rating is empty'
        when ts is null then 'timestamp is empty'
        when user_id <= 0 then 'userId ' || user_id || ' is not a positive id'
        when movie_id <= 0 then 'movieId ' || movie_id || ' is not a positive id'
        when rating < 0.5 or rating > 5.0 then 'rating ' || rating || ' is outside 0.5..5.0'
        when rating * 2 <> round(rating * 2) then 'rating ' || rating || ' is not a half star (0.5, 1.0, ..., 5.0)'
    end;

create or replace macro movies_row_problem_v2(movie_id, title) as
    case
        when movie_id is null then 'movieId is empty'
        when movie_id <= 0 then 'movieId ' || movie_id || ' is not a positive id'
        when title is null or trim(title) = '' then 'title is empty'
    end;

alter table ingest_log add column warnings json;
