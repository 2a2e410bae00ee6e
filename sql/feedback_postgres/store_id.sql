-- The store's identity (created by the first migration).
select store_id
from feedback_store;
