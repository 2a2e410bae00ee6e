-- The settings in force for the warehouse's views (one row, rewritten by every job)
-- and a log of every job with the full settings it ran with.

create table settings (
    rating_threshold double,
    split_strategy varchar,
    val_quantile double,
    test_quantile double,
    val_start timestamp,
    test_start timestamp,
    holdout_unit varchar,
    holdout_val double,
    holdout_test double,
    recent_days integer,
    updated_at timestamp
);

create table job_log (
    job_id varchar,
    command varchar,
    started_at timestamp,
    finished_at timestamp,
    status varchar,           -- running | ok | failed
    error varchar,
    settings json
);
