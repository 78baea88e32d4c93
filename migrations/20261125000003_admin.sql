-- Supervision: token counts and generation time per answer as columns (so usage sums are plain,
-- portable SQL), and the audit log of admin actions (append-only: the app never updates or
-- deletes its rows).

alter table messages add column prompt_tokens bigint not null default 0;
alter table messages add column completion_tokens bigint not null default 0;
alter table messages add column generation_ms bigint not null default 0;
create index messages_created on messages (created_at);
create index conversations_updated on conversations (updated_at, id);

create table audit_log (
    id text primary key,
    actor_id text not null,
    actor_email text not null,
    action text not null,
    target_type text not null,
    target_id text not null,
    target_label text not null,
    before_json text,
    after_json text,
    ip text,
    created_at text not null
);
create index audit_log_created on audit_log (created_at, id);

-- Sessions end with millisecond precision (a token issued in the same second as a password
-- reset must not survive it): `sessions_valid_after` is now in milliseconds.
update users set sessions_valid_after = sessions_valid_after * 1000;
