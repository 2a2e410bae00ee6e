-- The feature store: features of users, movies and (user, movie) pairs as of a split's history,
-- for the two-stage ranker. `history(strategy_name, upto)` is everything a model fitted on the
-- parts up to `upto` may see ('train' for val, 'val' = train+val for test): the kept positives
-- of those parts and the sub-threshold ratings of their periods, with their rating values.
-- Every feature is computed from it alone, so no rating of a later part can change one (a
-- test rewrites the later parts and compares). "Now" is the newest event of the history.
-- Averages are rounded to 6 decimals: a parallel sum's last bits depend on the order DuckDB
-- adds in, and the ranker's splits must not.

create or replace macro feature_history(strategy_name, upto) as table
with
positives as (
    select user_id, movie_id, ts, true as positive
    from split_interactions
    -- the enum order (train < val < test), not the text order in which 'test' < 'val'
    where strategy = strategy_name and kept and part <= upto::split_part
),
negatives as (
    select user_id, movie_id, ts, false as positive
    from split_negatives
    where (case when strategy_name = 'global' then global_part else per_user_part end) <= upto::split_part
),
events as (
    select * from positives
    union all
    select * from negatives
)
select
    events.user_id,
    events.movie_id,
    events.ts,
    events.positive,
    latest_ratings.rating
from events
join latest_ratings using (user_id, movie_id);

create or replace macro item_features(strategy_name, upto) as table
with
history as (select * from feature_history(strategy_name, upto)),
now as (select max(ts) as now_ts from history)
select
    history.movie_id,
    count(*) filter (where positive) as positive_count,
    count(*) filter (where positive and ts >= now_ts - 30 * 86400) as recent_30d,
    count(*) filter (where positive and ts >= now_ts - 90 * 86400) as recent_90d,
    count(*) filter (where positive and ts >= now_ts - 365 * 86400) as recent_365d,
    count(*) as rating_count,
    round(avg(rating), 6) as mean_rating,
    any_value(catalog.year) as release_year,
    year(to_timestamp(any_value(now_ts))) - any_value(catalog.year) as age_years,
    len(any_value(catalog.genres)) as genre_count
from history
cross join now
join catalog using (movie_id)
group by history.movie_id;

create or replace macro user_features(strategy_name, upto) as table
with
history as (select * from feature_history(strategy_name, upto)),
now as (select max(ts) as now_ts from history)
select
    user_id,
    count(*) as user_rating_count,
    count(*) filter (where positive) as user_positive_count,
    round(avg(rating), 6) as user_mean_rating,
    (any_value(now_ts) - max(ts)) / 86400.0 as days_since_last,
    (max(ts) - min(ts)) / 86400.0 as active_days
from history
cross join now
group by user_id;

create or replace macro user_genre_shares(strategy_name, upto) as table
with
liked as (
    select history.user_id, unnest(catalog.genres) as genre
    from feature_history(strategy_name, upto) as history
    join catalog using (movie_id)
    where history.positive
)
select
    user_id,
    genre,
    round(count(*) / sum(count(*)) over (partition by user_id), 6) as share
from liked
group by user_id, genre;

create or replace macro user_years(strategy_name, upto) as table
select
    history.user_id,
    median(catalog.year) as typical_year
from feature_history(strategy_name, upto) as history
join catalog using (movie_id)
where history.positive and catalog.year is not null
group by history.user_id;
