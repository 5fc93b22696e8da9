-- Schema version 9: a whole user's pending turns, and their episodes of one kind (the
-- console's scope page lists both beside the timeline). The scope indexes put session_id
-- before consolidated and kind, so without these each read walked every turn or episode the
-- user has (about 240 ms together at 100k memories).

CREATE INDEX turns_user_pending ON turns (tenant_id, user_id, consolidated, infer);
CREATE INDEX episodes_user_kind ON episodes (tenant_id, user_id, kind);
