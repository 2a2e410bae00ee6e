-- Every movie of the catalog, as a serving version stores it.
select
    movie_id,
    title,
    year,
    genres
from catalog;
