-- Time-based splits as table macros (called with bound parameters by `recsys split`,
-- or by hand: `select * from split_global(0.8, 0.9, null, null)`), and the tables
-- they are materialised into by sql/splits/materialize.sql.
--
-- Rules, both strategies:
--   * every positive interaction lands in exactly one part (train | val | test);
--   * val/test rows whose user or movie never occurs in train are kept out of
--     evaluation (kept = false) but stay in the table, so they are counted, not hidden.

-- Global temporal: train < val_start <= val < test_start <= test.
-- Cut-offs are the given dates, or quantiles of the positives' timestamps.
create or replace macro split_global_cutoffs(val_q, test_q, val_start, test_start) as table
select
    coalesce(epoch(val_start::timestamp)::bigint, quantile_disc(ts, val_q)) as val_start_ts,
    coalesce(epoch(test_start::timestamp)::bigint, quantile_disc(ts, test_q)) as test_start_ts
from interactions;

create or replace macro split_global(val_q, test_q, val_start, test_start) as table
with
positives as (
    select user_id, movie_id, ts from interactions
),
cutoffs as (
    select * from split_global_cutoffs(val_q, test_q, val_start, test_start)
),
assigned as (
    select
        positives.user_id,
        positives.movie_id,
        positives.ts,
        case
            when positives.ts < cutoffs.val_start_ts then 'train'
            when positives.ts < cutoffs.test_start_ts then 'val'
            else 'test'
        end as part
    from positives, cutoffs
),
train_users as (
    select distinct user_id from assigned where part = 'train'
),
train_items as (
    select distinct movie_id from assigned where part = 'train'
)
select
    'global' as strategy,
    part,
    user_id,
    movie_id,
    ts,
    part = 'train'
        or (user_id in (select user_id from train_users)
            and movie_id in (select movie_id from train_items)) as kept
from assigned;

-- Per-user temporal: each user's latest positives go to test, the ones before to val.
-- unit = 'count': exactly N each; unit = 'fraction': round(share * positives), at least 1.
-- Ties in time are broken by movie_id so the split is deterministic.
create or replace macro split_per_user(unit, val_holdout, test_holdout) as table
with
positives as (
    select user_id, movie_id, ts from interactions
),
ranked as (
    select
        user_id,
        movie_id,
        ts,
        row_number() over (partition by user_id order by ts desc, movie_id desc) as recency_rank,
        count(*) over (partition by user_id) as n_positives
    from positives
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
        user_id,
        movie_id,
        ts,
        case
            when recency_rank <= n_test then 'test'
            when recency_rank <= n_test + n_val then 'val'
            else 'train'
        end as part
    from sized
),
train_users as (
    select distinct user_id from assigned where part = 'train'
),
train_items as (
    select distinct movie_id from assigned where part = 'train'
)
select
    'per_user' as strategy,
    part,
    user_id,
    movie_id,
    ts,
    part = 'train'
        or (user_id in (select user_id from train_users)
            and movie_id in (select movie_id from train_items)) as kept
from assigned;

create table split_interactions (
    strategy varchar,
    part varchar,
    user_id integer,
    movie_id integer,
    ts bigint,
    kept boolean
);

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
