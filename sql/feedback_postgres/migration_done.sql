-- Record one applied migration (in the transaction that applied it).
insert into feedback_migrations (name)
values (%(name)s);
