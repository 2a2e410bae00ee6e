-- Rebuild both splits from the current ratings, inside the transaction opened by
-- recommender.warehouse.splits. Parameters:
--   $val_q, $test_q, $val_start, $test_start   (global)
--   $unit, $val_holdout, $test_holdout          (per-user)
-- The latest rating per (user, movie) is taken once and cut by the threshold into the
-- positives (what the splits assign) and the sub-threshold ratings (what lists leave out).
create or replace temp table split_latest as
select
    latest.user_id,
    latest.movie_id,
    latest.ts,
    latest.rating >= settings_row.rating_threshold as positive
from latest_ratings as latest, (select rating_threshold from settings limit 1) as settings_row;

create or replace table split_positives as
select
    user_id,
    movie_id,
    ts
from split_latest
where positive;

create or replace table split_assignments as
select * from split_assign($val_q, $test_q, $val_start, $test_start, $unit, $val_holdout, $test_holdout);

create or replace table split_cutoffs as
select
    'global' as strategy,
    make_timestamp(val_start_ts * 1000000) as val_start,
    make_timestamp(test_start_ts * 1000000) as test_start,
    null::varchar as holdout_unit,
    null::double as holdout_val,
    null::double as holdout_test,
    now()::timestamp as built_at
from split_global_cutoffs($val_q, $test_q, $val_start, $test_start)
union all
select
    'per_user',
    null,
    null,
    $unit,
    $val_holdout,
    $test_holdout,
    now()::timestamp;

-- Sub-threshold ratings in the period they fall in (see split_negatives in migration 008).
create or replace table split_negatives as
with
cutoffs as (
    select * from split_global_cutoffs($val_q, $test_q, $val_start, $test_start)
),
user_starts as (
    select
        user_id,
        min(ts) filter (where per_user_part = 'val') as val_start_ts,
        min(ts) filter (where per_user_part = 'test') as test_start_ts
    from split_assignments
    group by user_id
),
negatives as (
    select user_id, movie_id, ts
    from split_latest
    where not positive
)
select
    negatives.user_id,
    negatives.movie_id,
    negatives.ts,
    case
        when cutoffs.val_start_ts is null or negatives.ts < cutoffs.val_start_ts then 'train'
        when negatives.ts < cutoffs.test_start_ts then 'val'
        else 'test'
    end::split_part as global_part,
    case
        when negatives.ts >= user_starts.test_start_ts then 'test'
        when negatives.ts >= coalesce(user_starts.val_start_ts, user_starts.test_start_ts) then 'val'
        else 'train'
    end::split_part as per_user_part
from negatives
cross join cutoffs
left join user_starts using (user_id);

drop table split_latest;
