-- The folds after the first that the current split build holds: the per-user split's
-- rolling-origin cut-offs ('per_user/2', ...) and the crossfold's partitions ('crossfold/2', ...).
select strategy from split_cutoffs where strategy like 'per_user/%' or strategy like 'crossfold/%' order by strategy;
