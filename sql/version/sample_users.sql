-- $n known users (lowest ids) and one id no model knows (one above the largest known).
with
known as (
    select distinct user_id from recommendations where model = 'als'
)
select user_id, false as unknown
from (select user_id from known order by user_id limit $n)
union all
select max(user_id) + 1, true
from known;
