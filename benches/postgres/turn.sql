-- A turn's rows as the app sends them to PostgreSQL today: one statement with its quick commit
-- and the account's check (`src/server/db/turns.rs`, `store_on_postgres`, a new conversation).
-- For pgbench, on a database the app has migrated (start it once with ENERGYAPP_DATABASE__URL
-- pointing there), back to back and at two a second as the suite's single streams come:
--
--   pgbench -h 127.0.0.1 -U postgres -n -M prepared -T 10 -D uid=<a user's id> \
--     -f benches/postgres/turn.sql <database>
--   pgbench -h 127.0.0.1 -U postgres -n -M prepared -R 2 -T 15 -D uid=<a user's id> \
--     -f benches/postgres/turn.sql <database>
--
-- At a fixed rate, the time a statement took is pgbench's "latency average" minus its "rate
-- limit schedule lag" (how late pgbench itself woke up to send it).
\set n random(1, 2000000000)
with no_flush_wait as (select set_config('synchronous_commit', 'off', true) as setting), conversation as (insert into conversations (id, user_id, title, status, model, system_prompt, created_at, updated_at) select 'c' || :n, :uid, 'Explica la tarifa', 'open', 'qwen2.5:3b-instruct', null, '2026-12-04T20:00:00.000000Z', '2026-12-04T20:00:00.000000Z' from no_flush_wait where exists (select 1 from users where id = :uid and active = 1 and sessions_valid_after <= 9000000000000) returning id) insert into messages (id, conversation_id, role, content, status, meta, created_at, updated_at, instance_id) select m.id, c.id, m.role, m.content, m.status, '{}', m.at, m.at, m.instance from conversation c, (values ('q' || :n, 'user', 'Explica la tarifa [sim tokens=200 delay_ms=5]', 'complete', '2026-12-04T20:00:00.000000Z', null), ('a' || :n, 'assistant', '', 'streaming', '2026-12-04T20:00:00.000001Z', 'inst')) as m (id, role, content, status, at, instance);
