-- Rolling-origin folds of the per-user split (`recsys run --folds N`). Fold 1 is the per-user
-- split itself. Fold f moves every user's holdout f - 1 steps back in that user's own timeline,
-- a step being the user's test size: the positives of ranks (f-1)*n_test + 1 .. f*n_test (1 =
-- newest) are fold f's test, the n_val before them its val, everything older its train, and
-- the newer ones are not part of fold f at all (they happened after its cut-off). Sizes are the
-- per-user split's (unit, val and test holdouts). The kept rule is the same: a val/test row of
-- a user or movie absent from the fold's train is kept out of evaluation.
-- Each fold is a split strategy of its own, named 'per_user/f', so everything keyed by the
-- strategy (exports, the feature store, the run log) works on it unchanged.

create table split_fold_assignments (
    fold integer,
    user_id integer,
    movie_id integer,
    ts bigint,
    part split_part,
    kept boolean
);

-- Sub-threshold ratings in the period of each fold they fall in (none after the fold's test).
create table split_fold_negatives (
    fold integer,
    user_id integer,
    movie_id integer,
    ts bigint,
    part split_part
);

create or replace macro split_fold_assign(n_folds, unit, val_holdout, test_holdout) as table
with
ranked as (
    select
        user_id,
        movie_id,
        ts,
        row_number() over (partition by user_id order by ts desc, movie_id desc) as recency_rank,
        count(*) over (partition by user_id) as n_positives
    from split_positives
),
sized as (
    select
        *,
        case when unit = 'count' then test_holdout
             else greatest(1, round(test_holdout * n_positives)) end as n_test,
        case when unit = 'count' then val_holdout
             else greatest(1, round(val_holdout * n_positives)) end as n_val
    from ranked
),
folds as (
    select unnest(range(2, n_folds + 1)) as fold
),
assigned as (
    select
        folds.fold,
        sized.user_id,
        sized.movie_id,
        sized.ts,
        case
            when sized.recency_rank <= (folds.fold - 1) * sized.n_test then null  -- after the cut-off
            when sized.recency_rank <= folds.fold * sized.n_test then 'test'
            when sized.recency_rank <= folds.fold * sized.n_test + sized.n_val then 'val'
            else 'train'
        end::split_part as part
    from sized
    cross join folds
),
present as (
    select * from assigned where part is not null
),
user_in_train as (
    select fold, user_id, bool_or(part = 'train') as in_train from present group by fold, user_id
),
movie_in_train as (
    select fold, movie_id, bool_or(part = 'train') as in_train from present group by fold, movie_id
)
select
    present.fold,
    present.user_id,
    present.movie_id,
    present.ts,
    present.part,
    present.part = 'train' or (user_in_train.in_train and movie_in_train.in_train) as kept
from present
join user_in_train using (fold, user_id)
join movie_in_train using (fold, movie_id);

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
from split_fold_assignments;

-- Every strategy's sub-threshold ratings with their part, in one long form.
create or replace view split_negative_parts as
select 'global' as strategy, user_id, movie_id, ts, global_part as part from split_negatives
union all
select 'per_user' as strategy, user_id, movie_id, ts, per_user_part as part from split_negatives
union all
select 'per_user/' || fold as strategy, user_id, movie_id, ts, part from split_fold_negatives;

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
    from split_negative_parts
    where strategy = strategy_name and part <= upto::split_part
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
