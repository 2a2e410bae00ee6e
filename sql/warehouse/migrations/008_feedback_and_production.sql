-- The closed loop: ratings posted to the API come back into the warehouse as their own
-- source, every rating (any value) is known to the splits so lists can leave rated movies
-- out, production fits are runs of their own, and version changes are logged.

-- Ratings copied from a server's feedback store by `recsys ingest-feedback`. A store is
-- identified by its store_id (a feedback file, later a PostgreSQL database); seq numbers
-- its ratings in the order it stored them, so (store_id, seq) is the idempotency key and
-- max(seq) per store is the watermark of the next copy.
create table feedback_ratings (
    store_id varchar,
    seq bigint,
    user_id integer,
    movie_id integer,
    rating float,
    ts bigint,                -- when the API stored it, seconds since 1970-01-01 UTC
    ingest_id varchar,
    ingested_at timestamp
);

-- Every rating event, whatever its source: the CSVs and the API alike. seq orders the API's
-- ratings within one second (null for the CSVs).
create or replace view ratings as
select
    user_id,
    movie_id,
    rating,
    ts,
    'csv' as source,
    null::bigint as seq
from raw_ratings
union all
select
    user_id,
    movie_id,
    rating,
    ts,
    'api' as source,
    seq
from feedback_ratings;

-- One row per (user, movie): the latest rating event (ties in time: the API's later one, then
-- the higher rating).
create or replace view latest_ratings as
with
-- Pairs rated more than once are rare (none in MovieLens's CSVs), so only they go through
-- the costly latest-rating aggregate; a plain count finds them at half the cost.
repeated as (
    select user_id, movie_id
    from ratings
    group by user_id, movie_id
    having count(*) > 1
),
rated_once as (
    select user_id, movie_id, ts, rating
    from ratings
    anti join repeated using (user_id, movie_id)
),
latest_of_repeated as (
    select
        user_id,
        movie_id,
        ts,
        rating
    from ratings
    semi join repeated using (user_id, movie_id)
    qualify row_number() over (
        partition by user_id, movie_id order by ts desc, seq desc nulls last, rating desc
    ) = 1
)
select * from rated_once
union all
select * from latest_of_repeated;

-- Implicit feedback, now over both sources: latest rating per (user, movie) >= threshold.
create or replace view interactions as
with
settings_row as (
    select rating_threshold from settings limit 1
)
select
    latest.user_id,
    latest.movie_id,
    latest.ts,
    latest.rating
from latest_ratings as latest, settings_row
where latest.rating >= settings_row.rating_threshold;

-- Popularity and activity count API ratings too (same definitions as 003, over `ratings`).
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
    from ratings
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
rating_events as (
    select * from ratings
),
positives as (
    select user_id, count(*) as positive_count from interactions group by user_id
)
select
    rating_events.user_id,
    count(*) as rating_count,
    coalesce(any_value(positives.positive_count), 0) as positive_count,
    avg(rating_events.rating) as mean_rating,
    make_timestamp(min(rating_events.ts) * 1000000) as first_rated_at,
    make_timestamp(max(rating_events.ts) * 1000000) as last_rated_at
from rating_events
left join positives using (user_id)
group by rating_events.user_id;

-- The other side: pairs whose latest rating is below the threshold. Never a positive, but
-- a movie the user has seen: no list may offer it again.
create or replace view rated_below_threshold as
with
settings_row as (
    select rating_threshold from settings limit 1
)
select
    latest.user_id,
    latest.movie_id,
    latest.ts,
    latest.rating
from latest_ratings as latest, settings_row
where latest.rating < settings_row.rating_threshold;

-- Sub-threshold ratings placed in the period of each strategy they fall in (filled by
-- sql/splits/materialize.sql with the positives). Evaluation on a part leaves out of the
-- candidates the history positives and the sub-threshold ratings of the periods before it:
-- what a user had rated by then, and nothing from after the cut-off.
-- Global: by the cut-off dates. Per-user: 'test' from the user's first test positive on,
-- 'val' from the first val positive on, else 'train'.
create table split_negatives (
    user_id integer,
    movie_id integer,
    ts bigint,
    global_part split_part,
    per_user_part split_part
);

-- Production fits (kind = 'production', fitted on every positive) point at the evaluation
-- run whose configuration they refit and whose test numbers they publish.
alter table runs add column evaluated_run_id varchar;

-- Each version records the production runs it serves besides the evaluation runs.
alter table model_versions add column production_runs json;

-- Every change of the active version: published, rolled back, reconciled after a crash.
create table version_events (
    happened_at timestamp,
    event varchar,            -- published | rejected | rollback | pruned | reconciled | orphan_removed
    version integer,
    previous_version integer,
    detail varchar
);
