-- Finished simulations (`recsys simulate`): a simulation's steps and its row here are written
-- in one transaction when it ends, so a killed simulation leaves nothing behind. Steps without a
-- row here (written one by one by earlier releases, possibly cut short) are never reported.
create table if not exists simulation_runs (
    simulation_id varchar primary key,
    steps integer not null,          -- the steps asked for (a step with no data is skipped)
    models varchar[] not null,
    completed_at timestamp not null default current_timestamp
);
