-- The one row describing a serving version: its number, list length, run ids, test metrics
-- and the re-ranker's parameters (JSON).
select version, serve_n, runs, metrics, diverse_params
from version_info;
