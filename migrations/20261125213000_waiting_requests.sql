-- With several instances on one PostgreSQL database: one row per request waiting in an
-- instance's line for a backend, so that `ollama.max_queue` holds over all instances together.
-- Rows of an instance that is gone are removed by the others. Empty on SQLite.
create table waiting_requests (
    id text primary key,
    instance_id text not null,
    backend text not null,
    created_at text not null
);
create index waiting_requests_backend on waiting_requests (backend);
