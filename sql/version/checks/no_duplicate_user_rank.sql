-- Each (model, user, rank) appears once.
select model, user_id, rank, count(*) as copies
from recommendations
group by model, user_id, rank
having count(*) > 1
limit 10;
