-- Row counts of the serving tables (for /health).
select 'recommendations' as name, count(*) as n from recommendations
union all select 'catalog', count(*) from catalog
union all select 'popular_movies', count(*) from popular_movies
union all select 'similar_movies', count(*) from similar_movies;
