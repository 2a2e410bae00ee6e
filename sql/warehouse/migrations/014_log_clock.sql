-- The log clock: what "recent" means when ratings arrive through the API on top of a rating
-- log that may have ended years ago (the bundled MovieLens data ends in 2018; the API stamps
-- ratings with today's wall clock).
--
-- Every time in the warehouse that a model or feature reads (`ratings.ts`, and all that
-- derives from it: positives, splits, the feature store's windows and "now", popularity
-- windows) is on the log's own clock. A CSV rating keeps its timestamp. An API rating is
-- placed after the log's end, in its order: the API stream is shifted back by the gap
-- between the log's newest CSV rating and the first API rating (never forward: with a log
-- that runs up to today the gap is 0 and nothing moves). The first API rating lands one
-- second after the log's last, and later ones keep their real spacing. So six API ratings
-- on the 2018 data are six ratings of "just after the end", and a 365-day window still holds
-- the log's last year; on live data every window is relative to today, as before.
--
-- `received_ts` keeps the wall clock (when the API stored it; a CSV rating's own timestamp).
create or replace view ratings as
with
log_end as (
    select coalesce(max(ts), 0) as newest_csv_ts from raw_ratings
),
api_start as (
    select min(ts) as first_api_ts from feedback_ratings
),
shift as (
    select greatest(0, coalesce(first_api_ts - newest_csv_ts - 1, 0)) as seconds
    from log_end, api_start
)
select
    user_id,
    movie_id,
    rating,
    ts,
    'csv' as source,
    null::bigint as seq,
    ts as received_ts
from raw_ratings
union all
select
    feedback_ratings.user_id,
    feedback_ratings.movie_id,
    feedback_ratings.rating,
    feedback_ratings.ts - shift.seconds as ts,
    'api' as source,
    feedback_ratings.seq,
    feedback_ratings.ts as received_ts
from feedback_ratings, shift;

-- A user's activity span on the wall clock (when each rating was received), which is what
-- a person reading it expects; the models read the log clock above.
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
    make_timestamp(min(rating_events.received_ts) * 1000000) as first_rated_at,
    make_timestamp(max(rating_events.received_ts) * 1000000) as last_rated_at
from rating_events
left join positives using (user_id)
group by rating_events.user_id;
