-- What the current build of $strategy's split is, for a report's title: its holdout (unit and
-- test share), the rating threshold it was built with, its crossfold partitions (the strategy's
-- folds, 1 for a split without them) and the seed of its newest evaluation.
select
    cutoffs.holdout_unit,
    cutoffs.holdout_test,
    (select rating_threshold from settings limit 1) as rating_threshold,
    (select count(*) from split_cutoffs where strategy = $strategy or strategy like $strategy || '/%') as folds,
    (
        select seed from runs
        where split_strategy = $strategy and kind = 'evaluate'
        order by created_at desc
        limit 1
    ) as seed
from split_cutoffs as cutoffs
where cutoffs.strategy = $strategy;
