-- Portable SQL: runs unchanged on SQLite and PostgreSQL.
-- Ids are UUIDs (text); timestamps are RFC 3339 UTC text with microseconds (sortable);
-- flags are bigint 0/1 (sqlx's Any driver has no portable boolean).

create table users (
    id text primary key,
    email text not null,
    password_hash text not null,
    role text not null check (role in ('admin', 'user')),
    active bigint not null default 1 check (active in (0, 1)),
    created_at text not null,
    updated_at text not null,
    last_login_at text
);
create unique index users_email_lower on users (lower(email));

create table conversations (
    id text primary key,
    user_id text not null references users (id) on delete cascade,
    title text not null,
    status text not null default 'open' check (status in ('open', 'closed')),
    model text not null,
    system_prompt text,
    created_at text not null,
    updated_at text not null,
    deleted_at text
);
create index conversations_user_updated on conversations (user_id, updated_at, id);

create table messages (
    id text primary key,
    conversation_id text not null references conversations (id) on delete cascade,
    role text not null check (role in ('system', 'user', 'assistant')),
    content text not null,
    status text not null
        check (status in ('streaming', 'complete', 'stopped', 'interrupted', 'failed')),
    meta text not null default '{}',
    created_at text not null,
    updated_at text not null
);
create index messages_conversation_created on messages (conversation_id, created_at, id);
create index messages_status on messages (status);
