-- A movie appears at most once in a user's list.
select model, user_id, movie_id, count(*) as copies
from recommendations
group by model, user_id, movie_id
having count(*) > 1
limit 10;
