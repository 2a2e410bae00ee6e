-- Every (user, movie) ever rated, at any value, from either source: what no list may hold.
select distinct
    user_id,
    movie_id
from ratings;
