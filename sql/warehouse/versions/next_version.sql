-- The next version number: past every recorded version (folders on disk are checked too).
select coalesce(max(version), 0) + 1 as version
from model_versions;
