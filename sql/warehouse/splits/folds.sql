-- Rebuild the rolling-origin folds 2..$folds of the per-user split (none when $folds is 1),
-- after sql/warehouse/splits/materialize.sql in the same transaction: it reads
-- split_positives and the per-user sizes, and adds each fold's cut-off row.
delete from split_fold_assignments;
delete from split_fold_negatives;

insert into split_fold_assignments
select * from split_fold_assign($folds, $unit, $val_holdout, $test_holdout);

insert into split_fold_negatives
with
bounds as (
    select
        fold,
        user_id,
        min(ts) filter (where part = 'val') as val_start_ts,
        min(ts) filter (where part = 'test') as test_start_ts
    from split_fold_assignments
    group by fold, user_id
),
-- the fold's cut-off: the user's first positive after its test (none: nothing is later)
ends as (
    select
        bounds.fold,
        bounds.user_id,
        min(p.ts) filter (where p.ts > bounds_max.max_test_ts) as end_ts
    from bounds
    join (
        select fold, user_id, max(ts) filter (where part = 'test') as max_test_ts
        from split_fold_assignments
        group by fold, user_id
    ) as bounds_max using (fold, user_id)
    join split_positives as p using (user_id)
    group by bounds.fold, bounds.user_id
),
negatives as (
    select user_id, movie_id, ts from split_negatives
)
select
    bounds.fold,
    negatives.user_id,
    negatives.movie_id,
    negatives.ts,
    case
        when negatives.ts >= bounds.test_start_ts then 'test'
        when negatives.ts >= coalesce(bounds.val_start_ts, bounds.test_start_ts) then 'val'
        else 'train'
    end::split_part as part
from negatives
join bounds using (user_id)
join ends using (fold, user_id)
where ends.end_ts is null or negatives.ts < ends.end_ts;

insert into split_cutoffs
select
    'per_user/' || fold,
    null,
    null,
    $unit,
    $val_holdout,
    $test_holdout,
    now()::timestamp
from (select unnest(range(2, $folds + 1)) as fold);
