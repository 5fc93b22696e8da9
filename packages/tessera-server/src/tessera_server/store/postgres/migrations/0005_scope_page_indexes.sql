-- Schema version 5: a whole user's episodes of one kind (the console's scope page lists their
-- procedures and resources beside the timeline). The scope index puts session_id before kind,
-- so without this the read walked every episode the user has. (A user's pending turns need
-- nothing new here: the partial index `turns_pending` holds only pending turns.)

CREATE INDEX episodes_user_kind ON episodes (tenant_id, user_id, kind);
