-- Record one loaded file (inside the ingest transaction).
insert into ingest_log (
    ingest_id,
    ingested_at,
    source_dir,
    file,
    table_name,
    rows,
    bytes,
    content_hash,
    duration_s,
    warnings
)
values (
    $ingest_id, now()::timestamp, $source_dir, $file, $table_name, $rows, $bytes, $content_hash, $duration_s, $warnings
);
