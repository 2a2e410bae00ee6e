-- A job starts. Only one process can hold the warehouse read-write, so a job still marked
-- running belongs to a process that is gone (killed): it is marked interrupted first.
update job_log
set
    status = 'interrupted',
    finished_at = now()::timestamp,
    error = 'the process ended without recording an outcome (killed?)'
where status = 'running';

insert into job_log (job_id, command, started_at, finished_at, status, error, settings)
values ($job_id, $command, now()::timestamp, null, 'running', null, $settings);
