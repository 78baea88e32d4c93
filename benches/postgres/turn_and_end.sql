-- A turn's rows and its answer's end, as the app sends them to PostgreSQL (one statement each;
-- `src/server/db/turns.rs`, `src/server/db/messages.rs`). For pgbench, on a database the app
-- has migrated (start it once with ENERGYAPP_DATABASE__URL pointing there):
--
--   pgbench -h 127.0.0.1 -U postgres -n -M prepared -r -t 1000 \
--     -D uid=<a user's id> -D "content=<an answer's text>" \
--     -f benches/postgres/turn_and_end.sql <database>
--
-- `-r` prints each statement's latency. docs/BENCHMARKS.md used 200 of the simulator's words
-- (1,400 characters) as the answer. The turn's statement here is as it was on 2026-11-27;
-- `turn.sql` holds today's (with the quick commit and the account's sign-out time).
\set n random(1, 2000000000)
with conversation as (insert into conversations (id, user_id, title, status, model, system_prompt, created_at, updated_at) select 'c' || :n, :uid, 'Explica la tarifa', 'open', 'qwen2.5:3b-instruct', null, '2026-11-27T15:00:00.000000Z', '2026-11-27T15:00:00.000000Z' where exists (select 1 from users where id = :uid and active = 1) returning id) insert into messages (id, conversation_id, role, content, status, meta, created_at, updated_at, instance_id) select m.id, c.id, m.role, m.content, m.status, '{}', m.at, m.at, m.instance from conversation c, (values ('q' || :n, 'user', 'Explica la tarifa de la luz de este mes', 'complete', '2026-11-27T15:00:00.000000Z', null), ('a' || :n, 'assistant', '', 'streaming', '2026-11-27T15:00:00.000001Z', 'inst')) as m (id, role, content, status, at, instance);
with answer as (update messages set content = :content, status = 'complete', meta = '{"model":"qwen2.5:3b-instruct","done_reason":"stop"}', prompt_tokens = 30, completion_tokens = 200, generation_ms = 1000, updated_at = '2026-11-27T15:00:01.000000Z' where id = 'a' || :n) update conversations set updated_at = '2026-11-27T15:00:01.000000Z' where id = 'c' || :n and updated_at < '2026-11-27T15:00:01.000000Z';
