-- With several instances on one PostgreSQL database: which instance generates a `streaming`
-- answer, so that a starting instance marks `interrupted` only the answers of instances that
-- are gone (not those another live instance is still generating). Empty on SQLite.
alter table messages add column instance_id text;
