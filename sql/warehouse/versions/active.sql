-- The active version with the test metrics it publishes and the evaluation runs they come
-- from (none before the first publication).
select
    version,
    metrics,
    runs
from model_versions
where status = 'active';
