-- PostgreSQL only: a trigram index for the admins' text search, which looks for
-- `lower(content collate "C") like '%word%'` in every message (a scan of all of them without it).
-- pg_trgm ships with PostgreSQL and is a trusted extension since PostgreSQL 13 (the database's
-- owner may create it). Where it cannot be created the search still works, by scanning: this
-- migration then only warns. To add the index later, as a superuser:
--   create extension pg_trgm;
--   create index messages_content_trgm on messages
--     using gin (lower(content collate "C") gin_trgm_ops);
-- Building it holds writes to `messages` for as long as it takes (about a second per 100,000
-- messages here).
do $$
begin
  create extension if not exists pg_trgm;
exception when others then
  raise warning 'pg_trgm could not be created (%): the admin text search will scan messages', sqlerrm;
end
$$;

do $$
begin
  if exists (select 1 from pg_extension where extname = 'pg_trgm') then
    create index if not exists messages_content_trgm on messages
      using gin (lower(content collate "C") gin_trgm_ops);
  end if;
exception when others then
  raise warning 'the trigram index could not be created (%): the admin text search will scan messages', sqlerrm;
end
$$;
