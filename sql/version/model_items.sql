-- ALS item column -> movie id, in column order.
select movie_id
from model_items
order by item_idx;
