-- Every (user, movie) rated by the users $lo <= user_id <= $hi, at any value, from either
-- source: what no list may hold. The checks read it one range of users at a time.
select distinct
    user_id,
    movie_id
from ratings
where user_id between $lo and $hi;
