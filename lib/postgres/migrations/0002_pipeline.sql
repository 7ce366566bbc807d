-- What the pipeline records beside monitors, so `sentinel serve` on PostgreSQL needs
-- no SQLite: incidents, the alert ledger, and rate-limit counters.

CREATE TABLE incidents (
    id         text COLLATE "C" PRIMARY KEY,  -- <monitor>@<started_at>
    monitor_id text     NOT NULL,
    started_at bigint   NOT NULL,
    ended_at   bigint,
    cause      text     NOT NULL,
    proof      bigint[] NOT NULL             -- checked_at of the checks that proved it
);

CREATE INDEX incidents_by_monitor ON incidents (monitor_id, started_at DESC, id DESC);

-- One row per alert to one channel; the key's uniqueness is what makes a claim win.
CREATE TABLE alert_deliveries (
    key        text COLLATE "C" PRIMARY KEY,  -- transition key + ":" + channel
    channel    text   NOT NULL,
    monitor_id text   NOT NULL,
    event      text   NOT NULL,
    status     text   NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    attempts   bigint NOT NULL CHECK (attempts >= 0),
    last_error text,
    created_at bigint NOT NULL,
    updated_at bigint NOT NULL
);

CREATE INDEX alert_deliveries_by_created ON alert_deliveries (created_at DESC, key DESC);
CREATE INDEX alert_deliveries_by_monitor ON alert_deliveries (monitor_id);

-- Fixed windows; rows of ended windows are deleted a few at a time by later hits.
CREATE TABLE rate_limits (
    key          text   NOT NULL,
    window_start bigint NOT NULL,
    window_end   bigint NOT NULL,
    count        bigint NOT NULL,
    PRIMARY KEY (key, window_start)
);

CREATE INDEX rate_limits_by_end ON rate_limits (window_end);
