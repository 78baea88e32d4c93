-- API keys for the company's apps (only a SHA-256 hash of the secret is stored), and the
-- usage of each request made with one (for budgets and supervision).

create table api_keys (
    id text primary key,
    name text not null,
    owner_id text not null references users (id) on delete cascade,
    prefix text not null,
    key_hash text not null,
    allowed_models text,
    rate_limit_per_min bigint,
    monthly_token_budget bigint,
    store_conversations bigint not null default 0 check (store_conversations in (0, 1)),
    expires_at text,
    disabled bigint not null default 0 check (disabled in (0, 1)),
    revoked_at text,
    created_by text not null,
    created_at text not null,
    last_used_at text
);
create unique index api_keys_hash on api_keys (key_hash);

create table api_key_usage (
    id text primary key,
    key_id text not null references api_keys (id) on delete cascade,
    model text not null,
    prompt_tokens bigint not null,
    completion_tokens bigint not null,
    status text not null,
    created_at text not null
);
create index api_key_usage_key on api_key_usage (key_id, created_at);
