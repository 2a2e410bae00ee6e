-- Drop the temporary tables materialize.sql made (their memory goes back to the buffer pool).
drop table if exists temp.feature_items;
drop table if exists temp.feature_users;
drop table if exists temp.feature_shares;
drop table if exists temp.feature_years;
drop table if exists temp.feature_favourites;
