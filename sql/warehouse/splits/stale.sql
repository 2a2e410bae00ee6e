-- Whether ratings arrived (a CSV ingest or an API copy) after the splits were last built.
select coalesce(
    (select max(built_at) from split_cutoffs)
        < greatest(
            (select max(ingested_at) from ingest_log),
            (select max(ingested_at) from feedback_ratings)
        ),
    (select count(*) from split_cutoffs) = 0
) as stale;
