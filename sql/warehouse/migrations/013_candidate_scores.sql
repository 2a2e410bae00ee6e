-- The two-stage ranker's candidates as data: every source's score and rank for every candidate
-- pair it proposed, keyed by the ranker run, the split and the history's cut-off part (`upto`:
-- 'train' for the val users the booster learns from). Query it to see why a movie was a
-- candidate, or which source a hit came from.
create table if not exists candidate_scores (
    run_id varchar not null,         -- the ranker's evaluation run (runs.run_id)
    split_strategy varchar not null,
    upto varchar not null,           -- the sources saw the parts up to this one
    user_id integer not null,
    movie_id integer not null,
    source varchar not null,         -- als | itemknn | ease | popular
    score float,
    rank integer not null,           -- 1 = the source's best for the user
    is_hit boolean                   -- the pair is a positive of the next part (the label)
);
