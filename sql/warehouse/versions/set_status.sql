-- Change one version's status ($status: active | superseded | rolled_back | pruned).
update model_versions
set
    status = $status,
    published_at = case when $status = 'active' then now()::timestamp else published_at end
where version = $version;
