-- The ranker's feature tables, as of every rating, copied into a version file from the
-- warehouse's materialized ones (registered as incoming_<name> by copy_features).
create table feature_items as from incoming_feature_items;
create table feature_users as from incoming_feature_users;
create table feature_shares as from incoming_feature_shares;
create table feature_years as from incoming_feature_years;
create table feature_favourites as from incoming_feature_favourites;
