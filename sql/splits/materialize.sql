-- Rebuild both splits from the current interactions view, inside the transaction opened
-- by recommender.warehouse.splits. Parameters:
--   $val_q, $test_q, $val_start, $test_start   (global)
--   $unit, $val_holdout, $test_holdout          (per-user)
create or replace table split_positives as
select
    user_id,
    movie_id,
    ts
from interactions;

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
