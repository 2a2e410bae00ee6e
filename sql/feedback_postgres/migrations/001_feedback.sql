-- The shared feedback store (RECSYS_FEEDBACK_URL): ratings posted to any server or worker.
-- seq numbers them in the order they were committed, the watermark `recsys ingest-feedback`
-- copies from. A sequence would not do: two writers can commit seq 6 before seq 5, and a copy
-- made in between would skip 5 for ever. So each insert takes the next number from the one
-- row of feedback_store, whose row lock it holds until it commits: writers queue there.
create table feedback_store (
    store_id text primary key,
    last_seq bigint not null,
    created_at timestamptz not null default now()
);

insert into feedback_store (store_id, last_seq)
values (md5(random()::text || clock_timestamp()::text), 0);

create table feedback (
    seq bigint primary key,
    user_id integer not null,
    movie_id integer not null,
    rating real not null,
    created_at timestamptz not null default now()
);

create index feedback_by_user on feedback (user_id, seq);

-- Every insert tells the listening servers whose answers changed: the channel carries the user
-- id, delivered when (and only if) the insert commits. A trigger, so any writer notifies.
create function feedback_notify() returns trigger language plpgsql as $$
begin
    perform pg_notify('recsys_feedback', new.user_id::text);
    return null;
end
$$;

create trigger feedback_notify after insert on feedback
for each row execute function feedback_notify();
