-- Record one version (published or rejected). Run inside the caller's transaction.
insert into model_versions (
    version,
    path,
    status,
    created_at,
    published_at,
    split_strategy,
    runs,
    metrics,
    failed_check,
    rows,
    production_runs
)
values (
    $version,
    $path,
    $status,
    now()::timestamp,
    case when $status = 'active' then now()::timestamp end,
    $split_strategy,
    $runs,
    $metrics,
    $failed_check,
    $rows,
    $production_runs
);
