-- Ratings stored per user (a restarted server starts its feedback generations from these).
select user_id, count(*) as n
from feedback
group by user_id;
