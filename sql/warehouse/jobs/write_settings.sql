-- The settings the warehouse's views read (one row, rewritten by every split build).
delete from settings;

insert into settings (
    rating_threshold,
    split_strategy,
    val_quantile,
    test_quantile,
    val_start,
    test_start,
    holdout_unit,
    holdout_val,
    holdout_test,
    recent_days,
    updated_at
)
values (
    $rating_threshold,
    $split_strategy,
    $val_quantile,
    $test_quantile,
    $val_start::timestamp,
    $test_start::timestamp,
    $holdout_unit,
    $holdout_val,
    $holdout_test,
    $recent_days,
    now()::timestamp
);
