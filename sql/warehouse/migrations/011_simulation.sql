-- The online evaluation simulation (`recsys simulate`): one row per (simulation, step, model).
-- A step fits on every positive before `cutoff` and scores the lists of the users with a
-- positive in [cutoff, window_end) against what they liked then.
create table if not exists simulation_steps (
    simulation_id varchar not null,
    step integer not null,
    cutoff timestamp not null,
    window_end timestamp not null,
    model varchar not null,
    params json,
    users integer not null,          -- users scored: a positive in the window (of a movie known at the cut-off)
    fallback_users integer not null, -- of them, answered by the popular fallback alone (unknown or nothing liked yet)
    train_positives bigint not null,
    ndcg double,
    recall double,
    hit_rate double,
    hits bigint,
    coverage double,
    fit_s double,
    score_s double,
    settings json,
    created_at timestamp not null default current_timestamp,
    primary key (simulation_id, step, model)
);
