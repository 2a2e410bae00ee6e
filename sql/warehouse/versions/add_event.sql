-- One entry of the version history.
insert into version_events (
    happened_at,
    event,
    version,
    previous_version,
    detail
)
values (
    now()::timestamp,
    $event,
    $version,
    $previous_version,
    $detail
);
