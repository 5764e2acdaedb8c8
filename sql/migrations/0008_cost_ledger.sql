-- The cost ledger: one row per Gemini request, written as an intent before it is sent ('open': the request's answer is
-- awaited) and finalized after its answer: 'billed' (an HTTP 200; a Veo start whose operation made a video),
-- 'not_billed' (an error answer; a Veo operation that failed), or 'possibly_billed' (no answer came: priced in full).
-- 'awaiting_video' is a Veo start that created an operation, billed only once the operation ends with a video.
-- These writes are not fenced by the job's lease: a fenced-out or dying worker's spend is still real money. An 'open'
-- row whose owner (the silo that sent the request) died is settled as 'possibly_billed' by the dead-silo rescue.
-- Amounts are exact micro-dollars (1 USD = 1,000,000).
CREATE TABLE IF NOT EXISTS gemini_cost_ledger (
    request_id      uuid        PRIMARY KEY,
    job_id          text        NOT NULL,
    client_id       text        NOT NULL,
    attempt         integer     NOT NULL,
    call            text        NOT NULL,
    operation_type  text        NOT NULL,
    model           text        NOT NULL,
    owner           text        NOT NULL,
    expected_micros bigint      NOT NULL,
    state           text        NOT NULL DEFAULT 'open'
        CHECK (state IN ('open', 'awaiting_video', 'billed', 'not_billed', 'possibly_billed')),
    cost_micros     bigint      NULL,
    input_tokens    integer     NULL,
    output_tokens   integer     NULL,
    image_count     integer     NULL,
    video_seconds   integer     NULL,
    http_status     integer     NULL,
    error           text        NULL,
    duration_ms     integer     NULL,
    operation_name  text        NULL,
    tracked         boolean     NOT NULL DEFAULT false,
    created_at      timestamptz NOT NULL DEFAULT now(),
    finalized_at    timestamptz NULL
);

CREATE INDEX IF NOT EXISTS gemini_cost_ledger_job_idx ON gemini_cost_ledger (job_id);
CREATE INDEX IF NOT EXISTS gemini_cost_ledger_open_idx ON gemini_cost_ledger (owner) WHERE state = 'open';
CREATE INDEX IF NOT EXISTS gemini_cost_ledger_video_idx ON gemini_cost_ledger (operation_name) WHERE state = 'awaiting_video';
CREATE INDEX IF NOT EXISTS gemini_cost_ledger_created_idx ON gemini_cost_ledger (created_at);
CREATE INDEX IF NOT EXISTS gemini_cost_ledger_untracked_idx ON gemini_cost_ledger (request_id)
    WHERE NOT tracked AND state IN ('billed', 'possibly_billed');

-- The cost records of a database without the web app's ai_cost_tracking: the same columns, the same meaning.
CREATE TABLE IF NOT EXISTS worker_cost_tracking (
    id                     text      PRIMARY KEY,
    client_id              text      NOT NULL,
    user_id                text      NULL,
    request_id             text      NULL,
    job_id                 text      NULL,
    operation_type         text      NOT NULL,
    model                  text      NOT NULL,
    provider               text      NOT NULL DEFAULT 'google-gemini',
    cost_usd_cents         integer   NOT NULL,
    input_tokens           integer   NULL,
    output_tokens          integer   NULL,
    image_count            integer   NULL,
    video_duration_seconds integer   NULL,
    metadata               jsonb     NULL,
    success                integer   NOT NULL DEFAULT 1,
    error_message          text      NULL,
    duration_ms            integer   NULL,
    created_at             timestamp NOT NULL DEFAULT now()
);
