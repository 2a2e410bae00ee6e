-- The ranker's feature names for its precomputed lists, in load_recommendations.sql's row
-- order for model 'ranker' ('' where none: the popular top-up). A separate query: versions
-- published before the column existed have no ranker lists and are never asked.
select coalesce(ranked_by, '') as ranked_by
from recommendations
where model = 'ranker'
order by user_id, rank;
