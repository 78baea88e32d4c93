-- Refresh tokens (stored only as SHA-256 hashes), rotated on every use; a reused token
-- revokes its whole family. Access tokens issued before `sessions_valid_after` (unix seconds)
-- are refused (password change, reset).

create table refresh_tokens (
    id text primary key,
    user_id text not null references users (id) on delete cascade,
    family_id text not null,
    token_hash text not null,
    expires_at text not null,
    created_at text not null,
    used_at text,
    revoked_at text
);
create unique index refresh_tokens_hash on refresh_tokens (token_hash);
create index refresh_tokens_family on refresh_tokens (family_id);
create index refresh_tokens_user on refresh_tokens (user_id);

alter table users add column sessions_valid_after bigint not null default 0;
