-- Every recorded version with its status (for reconciling with the pointer and the folders).
select
    version,
    status,
    path
from model_versions
order by version;
