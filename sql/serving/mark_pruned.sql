-- A version whose folder was deleted by retention (recsys precompute --keep).
update model_versions
set status = 'pruned'
where version = $version;
