-- The store's identity (created with the file).
select store_id
from store_info;
