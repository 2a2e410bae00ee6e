-- The one row describing a serving version: its number, list length, run ids, test metrics,
-- the re-ranker's parameters (JSON) and the model served by default. Every column, by name:
-- a version published by older code lacks the newest ones.
select *
from version_info;
