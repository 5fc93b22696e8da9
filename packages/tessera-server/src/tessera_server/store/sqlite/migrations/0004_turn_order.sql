-- Schema version 4: turns in conversation order, so that search can find the lines said
-- just before and after a matching one (an index seek instead of a walk of the scope).

CREATE INDEX turns_order ON turns (tenant_id, user_id, session_id, event_time);
