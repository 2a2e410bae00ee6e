-- A job ends: $status ok | failed | interrupted (Ctrl-C), with the error for a failed one.
update job_log
set
    finished_at = now()::timestamp,
    status = $status,
    error = $error
where job_id = $job_id;
