-- The active version with the test metrics it publishes (none before the first publication).
select
    version,
    metrics
from model_versions
where status = 'active';
