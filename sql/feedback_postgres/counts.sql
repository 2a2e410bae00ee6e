-- Ratings stored per user (a starting server's feedback generations, and its resync after a
-- lost LISTEN connection).
select user_id, count(*) as n
from feedback
group by user_id;
