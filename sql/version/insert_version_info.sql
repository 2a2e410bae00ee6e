-- The one row describing a version file (written into recs.duckdb before the checks).
insert into version_info (
    version,
    created_at,
    split_strategy,
    serve_n,
    runs,
    metrics,
    diverse_params,
    production_runs,
    default_model,
    default_reason,
    visitor_model
)
values (
    $version,
    now()::timestamp,
    $split_strategy,
    $serve_n,
    $runs,
    $metrics,
    $diverse_params,
    $production_runs,
    $default_model,
    $default_reason,
    $visitor_model
);
