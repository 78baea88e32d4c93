-- PostgreSQL only: the admins' text search index now covers only the messages no longer being
-- written (status other than 'streaming'). An answer in progress is rewritten at each
-- checkpoint and once more as it ends; indexing the trigrams of every version made the
-- database index each answer several times while it was being relayed, and merge the index's
-- pending list meanwhile. The search finds the answers in progress, a few rows, through
-- `messages_status` (`server::db::conversations::messages_matching`).
-- The index replaces the one of 20261126000000 under the same name. A previous release's
-- search still runs on it (it reads the messages instead of using the index). Where pg_trgm
-- is missing nothing changes; to add the index later, as a superuser:
--   create extension pg_trgm;
--   create index messages_content_trgm on messages
--     using gin (lower(content collate "C") gin_trgm_ops) where status <> 'streaming';
do $$
begin
  if exists (select 1 from pg_extension where extname = 'pg_trgm') then
    drop index if exists messages_content_trgm;
    create index messages_content_trgm on messages
      using gin (lower(content collate "C") gin_trgm_ops) where status <> 'streaming';
  end if;
exception when others then
  raise warning 'the trigram index could not be replaced (%): it stays as it was', sqlerrm;
end
$$;
