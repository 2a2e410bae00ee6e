-- The active version steps down ($status: superseded by a new one, or rolled_back).
update model_versions
set status = $status
where status = 'active';
