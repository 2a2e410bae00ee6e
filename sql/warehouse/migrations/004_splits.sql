-- Time-based splits. Both strategies are computed in one pass over the positives by the
-- `split_assign` macro (called with bound parameters by `recsys split` through
-- sql/splits/materialize.sql) and stored in `split_assignments`, one row per positive.
-- `split_interactions` is the same data in long form (strategy, part, ...), for queries.
--
-- Rules, both strategies:
--   * every positive interaction lands in exactly one part (train | val | test);
--   * val/test rows whose user or movie never occurs in that strategy's train are kept
--     out of evaluation (kept = false) but stay in the table: counted, not hidden.
--
-- Global temporal: train < val_start <= val < test_start <= test; the cut-offs are the
-- given dates, or quantiles of the positives' timestamps.
-- Per-user temporal: each user's latest positives go to test, the ones before to val;
-- unit = 'count': exactly N each, unit = 'fraction': round(share * positives), at least 1.
-- Ties in time are broken by movie_id, so both splits are deterministic.

-- Parts as an enum: read as text, stored and compared as a small integer.
create type split_part as enum ('train', 'val', 'test');

-- Snapshot of the `interactions` view taken at the start of each build, so its
-- de-duplication runs once per build.
create table split_positives (
    user_id integer,
    movie_id integer,
    ts bigint
);

create or replace macro split_global_cutoffs(val_q, test_q, val_start, test_start) as table
select
    coalesce(epoch(val_start::timestamp)::bigint, quantile_disc(ts, val_q)) as val_start_ts,
    coalesce(epoch(test_start::timestamp)::bigint, quantile_disc(ts, test_q)) as test_start_ts
from split_positives;

create or replace macro split_assign(val_q, test_q, val_start, test_start, unit, val_holdout, test_holdout) as table
with
cutoffs as (
    select * from split_global_cutoffs(val_q, test_q, val_start, test_start)
),
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
assigned as (
    select
        sized.user_id,
        sized.movie_id,
        sized.ts,
        case
            when sized.ts < cutoffs.val_start_ts then 'train'
            when sized.ts < cutoffs.test_start_ts then 'val'
            else 'test'
        end::split_part as global_part,
        case
            when sized.recency_rank <= sized.n_test then 'test'
            when sized.recency_rank <= sized.n_test + sized.n_val then 'val'
            else 'train'
        end::split_part as per_user_part
    from sized, cutoffs
),
-- Who and what occurs in each strategy's train part (aggregates: one pass each).
user_in_train as (
    select
        user_id,
        bool_or(global_part = 'train') as global_train,
        bool_or(per_user_part = 'train') as per_user_train
    from assigned
    group by user_id
),
movie_in_train as (
    select
        movie_id,
        bool_or(global_part = 'train') as global_train,
        bool_or(per_user_part = 'train') as per_user_train
    from assigned
    group by movie_id
)
select
    assigned.user_id,
    assigned.movie_id,
    assigned.ts,
    assigned.global_part,
    assigned.global_part = 'train'
        or (user_in_train.global_train and movie_in_train.global_train) as global_kept,
    assigned.per_user_part,
    assigned.per_user_part = 'train'
        or (user_in_train.per_user_train and movie_in_train.per_user_train) as per_user_kept
from assigned
join user_in_train using (user_id)
join movie_in_train using (movie_id);

create table split_assignments (
    user_id integer,
    movie_id integer,
    ts bigint,
    global_part split_part,
    global_kept boolean,
    per_user_part split_part,
    per_user_kept boolean
);

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
from split_assignments;

create table split_cutoffs (
    strategy varchar,
    val_start timestamp,      -- global: first val timestamp; per_user: null
    test_start timestamp,
    holdout_unit varchar,     -- per_user only
    holdout_val double,
    holdout_test double,
    built_at timestamp
);

-- Rows, users and movies per part, the rows dropped from val/test, and the cut-offs.
create or replace view split_summary as
with
parts as (
    select
        strategy,
        part,
        count(*) filter (where kept) as rows,
        count(distinct user_id) filter (where kept) as users,
        count(distinct movie_id) filter (where kept) as movies,
        count(*) filter (where not kept) as dropped_rows
    from split_interactions
    group by strategy, part
)
select
    parts.strategy,
    parts.part,
    parts.rows,
    parts.users,
    parts.movies,
    parts.dropped_rows,
    cutoffs.val_start,
    cutoffs.test_start,
    cutoffs.holdout_unit,
    cutoffs.holdout_val,
    cutoffs.holdout_test
from parts
join split_cutoffs as cutoffs using (strategy)
order by parts.strategy, case parts.part when 'train' then 0 when 'val' then 1 else 2 end;
