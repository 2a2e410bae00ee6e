-- Feature views over the raw tables. Views, not tables: they always reflect the
-- latest ingest and the settings row.

-- Implicit feedback: a rating >= threshold is a positive; one row per (user, movie),
-- the latest rating event kept (ties in time: the higher rating).
create or replace view interactions as
with
settings_row as (
    select rating_threshold from settings limit 1
),
-- Pairs rated more than once are rare (none in MovieLens), so only they go through the
-- costly latest-rating aggregate; a plain count finds them at half the cost.
repeated as (
    select user_id, movie_id
    from raw_ratings
    group by user_id, movie_id
    having count(*) > 1
),
rated_once as (
    select user_id, movie_id, ts, rating
    from raw_ratings
    anti join repeated using (user_id, movie_id)
),
latest_of_repeated as (
    select
        user_id,
        movie_id,
        max(ts) as ts,
        arg_max(rating, ts * 10 + rating * 2) as rating
    from raw_ratings
    semi join repeated using (user_id, movie_id)
    group by user_id, movie_id
),
latest as (
    select * from rated_once
    union all
    select * from latest_of_repeated
)
select
    latest.user_id,
    latest.movie_id,
    latest.ts,
    latest.rating
from latest, settings_row
where latest.rating >= settings_row.rating_threshold;

-- Movies with a clean title, the release year parsed from the title and genres as a list.
create or replace view catalog as
with
movies as (
    select * from raw_movies
),
links as (
    select * from raw_links
),
parsed as (
    select
        movie_id,
        trim(title) as raw_title,
        try_cast(regexp_extract(trim(title), '\((\d{4})(?:[–-]\d{0,4})?\)$', 1) as integer) as year,
        case
            when genres is null or genres = '(no genres listed)' then []::varchar[]
            else string_split(genres, '|')
        end as genres
    from movies
)
select
    parsed.movie_id,
    -- 'American President, The (1995)' -> 'The American President'
    regexp_replace(
        trim(regexp_replace(parsed.raw_title, '\s*\(\d{4}(?:[–-]\d{0,4})?\)$', '')),
        '^(.*), (The|A|An)$',
        '\2 \1'
    ) as title,
    parsed.year,
    parsed.genres,
    links.imdb_id,
    links.tmdb_id
from parsed
left join links using (movie_id);

-- Per-movie popularity among positives: count, mean rating over all ratings,
-- and positives inside the recent window (days before the newest positive).
create or replace view item_popularity as
with
settings_row as (
    select recent_days from settings limit 1
),
positives as (
    select * from interactions
),
all_ratings as (
    select
        movie_id,
        avg(rating) as mean_rating,
        count(*) as rating_count
    from raw_ratings
    group by movie_id
),
bounds as (
    select max(ts) as newest_ts from positives
)
select
    positives.movie_id,
    count(*) as positive_count,
    count(*) filter (
        where positives.ts >= bounds.newest_ts - settings_row.recent_days * 86400
    ) as recent_positive_count,
    any_value(all_ratings.mean_rating) as mean_rating,
    any_value(all_ratings.rating_count) as rating_count
from positives
join all_ratings using (movie_id)
cross join bounds
cross join settings_row
group by positives.movie_id;

-- Per-user activity: ratings, positives and the time span they cover.
create or replace view user_activity as
with
ratings as (
    select * from raw_ratings
),
positives as (
    select user_id, count(*) as positive_count from interactions group by user_id
)
select
    ratings.user_id,
    count(*) as rating_count,
    coalesce(any_value(positives.positive_count), 0) as positive_count,
    avg(ratings.rating) as mean_rating,
    make_timestamp(min(ratings.ts) * 1000000) as first_rated_at,
    make_timestamp(max(ratings.ts) * 1000000) as last_rated_at
from ratings
left join positives using (user_id)
group by ratings.user_id;
