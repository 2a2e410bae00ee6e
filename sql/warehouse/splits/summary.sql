-- Rows, users and movies per part of one strategy's split ($strategy null: both).
select *
from split_summary
where $strategy is null or strategy = $strategy;
