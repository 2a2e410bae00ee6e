-- The cut-offs of one strategy's split, as JSON (what a report and a run record).
select to_json(c) as cutoffs
from split_cutoffs as c
where c.strategy = $strategy;
