-- reading interactions back (GET /api/interactions): a user's own calls by key, and time ranges, both in
-- id order for keyset paging
create index interactions_key on interactions (key_id, id);
create index interactions_started on interactions (started_at, id);
