-- Schema version 6: a user's episodes newest first, so that the few thousand most recent
-- (which the panels are built from after every consolidation) are read by walking an index
-- instead of reading and sorting every episode of the user.

CREATE INDEX episodes_recent ON episodes (tenant_id, user_id, event_time);
