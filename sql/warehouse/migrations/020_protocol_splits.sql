-- The protocols of published results, beside the temporal splits (docs/evaluation.md says what
-- each one leaks):
--   * 'random': each user's positives in a seeded random order; the first round(test share x
--     positives) (at least 1) are test, the next round(val share x positives) val, the rest train
--     (Microsoft Recommenders' stratified random split, with val drawn the same way);
--   * 'crossfold', 'crossfold/2' .. 'crossfold/K': the users in K seeded partitions of (nearly)
--     equal size (LensKit's crossfold over users); partition k's users hold out test and val as
--     in 'random', and every rating of the other users is train.
-- A sub-threshold rating is history in every part (train): left out of lists, never a test item.
-- The kept rule is the temporal splits': a val/test row of a user or movie absent from the
-- strategy's train is kept out of evaluation.

create table split_protocol_assignments (
    strategy varchar,
    user_id integer,
    movie_id integer,
    ts bigint,
    part split_part,
    kept boolean
);

create table split_protocol_negatives (
    strategy varchar,
    user_id integer,
    movie_id integer,
    ts bigint,
    part split_part
);

-- Each positive's place in its user's seeded random order (1 = held out first), with the sizes.
create or replace macro split_random_order(seed, unit, val_holdout, test_holdout) as table
with
ranked as (
    select
        user_id,
        movie_id,
        ts,
        row_number() over (partition by user_id order by hash(user_id, movie_id, seed), movie_id) as random_rank,
        count(*) over (partition by user_id) as n_positives
    from split_positives
)
select
    *,
    case when unit = 'count' then test_holdout else greatest(1, round(test_holdout * n_positives)) end as n_test,
    case when unit = 'count' then val_holdout else greatest(1, round(val_holdout * n_positives)) end as n_val
from ranked;

create or replace macro split_random_assign(seed, unit, val_holdout, test_holdout) as table
select
    'random' as strategy,
    user_id,
    movie_id,
    ts,
    case
        when random_rank <= n_test then 'test'
        when random_rank <= n_test + n_val then 'val'
        else 'train'
    end::split_part as part
from split_random_order(seed, unit, val_holdout, test_holdout);

create or replace macro split_crossfold_assign(seed, partitions, unit, val_holdout, test_holdout) as table
with
users as (
    select
        user_id,
        (row_number() over (order by hash(user_id, seed), user_id) - 1) % partitions + 1 as partition
    from (select distinct user_id from split_positives)
),
folds as (
    select unnest(range(1, partitions + 1)) as fold
)
select
    case when folds.fold = 1 then 'crossfold' else 'crossfold/' || folds.fold end as strategy,
    ordered.user_id,
    ordered.movie_id,
    ordered.ts,
    case
        when users.partition <> folds.fold then 'train'
        when ordered.random_rank <= ordered.n_test then 'test'
        when ordered.random_rank <= ordered.n_test + ordered.n_val then 'val'
        else 'train'
    end::split_part as part
from split_random_order(seed, unit, val_holdout, test_holdout) as ordered
join users using (user_id)
cross join folds;

create or replace view split_interactions as
select
    'global' as strategy,
    global_part as part,
    user_id,
    movie_id,
    ts,
    global_kept as kept
from split_assignments
union all
select
    'per_user' as strategy,
    per_user_part as part,
    user_id,
    movie_id,
    ts,
    per_user_kept as kept
from split_assignments
union all
select
    'per_user/' || fold as strategy,
    part,
    user_id,
    movie_id,
    ts,
    kept
from split_fold_assignments
union all
select strategy, part, user_id, movie_id, ts, kept
from split_protocol_assignments;

create or replace view split_negative_parts as
select 'global' as strategy, user_id, movie_id, ts, global_part as part from split_negatives
union all
select 'per_user' as strategy, user_id, movie_id, ts, per_user_part as part from split_negatives
union all
select 'per_user/' || fold as strategy, user_id, movie_id, ts, part from split_fold_negatives
union all
select strategy, user_id, movie_id, ts, part from split_protocol_negatives;
