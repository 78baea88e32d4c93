-- Failed logins per account (`a:<email>`) and per client address (`i:<ip>`), kept in the
-- database when it is PostgreSQL so that every app instance counts the same failures (a single
-- SQLite instance keeps them in memory and leaves this table empty). Times in unix milliseconds.
create table login_failures (
    key text primary key,
    failures bigint not null default 0,
    since_ms bigint not null default 0,
    locked_until_ms bigint not null default 0
);
