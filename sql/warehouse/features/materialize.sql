-- The feature store's tables as of $strategy's history up to $upto, computed once into
-- temporary tables that pair_features.sql joins for every batch of candidate pairs.
create or replace temp table feature_items as select * from item_features($strategy, $upto);
create or replace temp table feature_users as select * from user_features($strategy, $upto);
create or replace temp table feature_shares as select * from user_genre_shares($strategy, $upto);
create or replace temp table feature_years as select * from user_years($strategy, $upto);
create or replace temp table feature_favourites as
-- ties between equal shares go to the first genre by name: arg_max would pick any of them
select user_id, first(genre order by share desc, genre) as favourite_genre
from feature_shares
group by user_id;
