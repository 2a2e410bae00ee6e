-- The ranker's rows from its booster name the feature that raised them (ranked_by); no other
-- row does (the other models, and the ranker's popular top-up).
select model, user_id, rank, source, ranked_by
from recommendations
where (ranked_by is not null) <> (model = 'ranker' and source = 'model')
limit 10;
