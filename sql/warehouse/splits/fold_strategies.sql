-- The rolling-origin folds the current split build holds ('per_user/2', ...).
select strategy from split_cutoffs where strategy like 'per_user/%' order by strategy;
