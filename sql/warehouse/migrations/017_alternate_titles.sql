-- Titles read as people write them, alternate titles included: the article MovieLens moves to
-- the end goes back to the front in the main title and in each parenthesised alternate title
-- ('City of Lost Children, The (Cité des enfants perdus, La) (1995)' ->
-- 'The City of Lost Children (La Cité des enfants perdus)'), for English, French, Spanish,
-- Italian and German articles. "I" is left alone: 'Robot, I' would become 'I Robot'.

create or replace macro front_article(part) as
    case
        when regexp_matches(part, '^(.*), L''$') then regexp_replace(part, '^(.*), (L'')$', '\2\1')
        else regexp_replace(part, '^(.*), (The|A|An|Le|La|Les|El|Los|Las|Il|Lo|Gli|Das|Der|Die)$', '\2 \1')
    end;

create or replace view catalog as
with
parsed as (
    select
        movie_id,
        trim(title) as raw_title,
        try_cast(regexp_extract(trim(title), '\((\d{4})(?:[–-]\d{0,4})?\)$', 1) as integer) as year,
        case
            when genres is null or genres = '(no genres listed)' then []::varchar[]
            else string_split(genres, '|')
        end as genres
    from raw_movies
),
unyeared as (
    select
        *,
        trim(regexp_replace(raw_title, '\s*\(\d{4}(?:[–-]\d{0,4})?\)$', '')) as bare
    from parsed
),
split as (
    -- the main title and the chain of " (...)" groups that ends it (alternate titles, a.k.a.)
    select
        *,
        regexp_extract(bare, '^(.*?)((?: \([^()]*\))*)$', 1) as main_title,
        regexp_extract_all(regexp_extract(bare, '^(.*?)((?: \([^()]*\))*)$', 2), '\(([^()]*)\)', 1) as alternates
    from unyeared
)
select
    split.movie_id,
    front_article(split.main_title)
    || coalesce(
        list_aggregate(list_transform(split.alternates, lambda a: ' (' || front_article(a) || ')'), 'string_agg', ''),
        ''
    ) as title,
    split.year,
    split.genres,
    raw_links.imdb_id,
    raw_links.tmdb_id
from split
left join raw_links using (movie_id);
