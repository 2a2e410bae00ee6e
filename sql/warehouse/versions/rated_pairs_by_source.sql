-- Every (user, movie) rated from one source ($source: csv | api), at any value.
select distinct
    user_id,
    movie_id
from ratings
where source = $source;
