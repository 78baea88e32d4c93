-- With several instances: whether a waiting request is let through by its instance's own line
-- (1) and only waits for one of the backend's slots shared by the instances. Those take the
-- freed slots in the order they came (`server::cluster::line`). Empty on SQLite.
alter table waiting_requests add column ready integer not null default 0;
