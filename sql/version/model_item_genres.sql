-- (ALS item column, genre) pairs: the genre vectors that intra-list diversity and the
-- re-ranker's genre similarity use.
select m.item_idx, g.genre
from model_items m
join catalog c using (movie_id),
     unnest(c.genres) as g(genre);
