-- The highest seq already copied from feedback store $store_id (0: none yet).
select coalesce(max(seq), 0) as watermark
from feedback_ratings
where store_id = $store_id;
