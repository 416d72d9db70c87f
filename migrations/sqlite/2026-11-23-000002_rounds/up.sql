-- Survey rounds and everything needed to distribute them anonymously.
CREATE TABLE rounds (
    id TEXT PRIMARY KEY NOT NULL,
    title TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('draft', 'open', 'closed')),
    -- The subtree the round covers; NULL for the whole organisation.
    root_unit_id TEXT REFERENCES units(id),
    opens_on TEXT NOT NULL,
    closes_on TEXT NOT NULL,
    min_group_size INTEGER NOT NULL CHECK (min_group_size >= 3),
    created_at BIGINT NOT NULL,
    opened_at BIGINT,
    closed_at BIGINT
);

-- The exact questionnaire files a round runs: content and hash.
CREATE TABLE round_surveys (
    round_id TEXT NOT NULL REFERENCES rounds(id),
    position INTEGER NOT NULL,
    survey_id TEXT NOT NULL,
    version TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    content TEXT NOT NULL,
    PRIMARY KEY (round_id, position)
);

-- One per invited person. The token is never stored, only its hash; the
-- only trace of answering is the responded flag.
CREATE TABLE invitations (
    id TEXT PRIMARY KEY NOT NULL,
    round_id TEXT NOT NULL REFERENCES rounds(id),
    employee_id TEXT NOT NULL REFERENCES employees(id),
    unit_id TEXT NOT NULL REFERENCES units(id),
    token_hash TEXT NOT NULL UNIQUE,
    code_hash TEXT NOT NULL UNIQUE,
    channel TEXT NOT NULL CHECK (channel IN ('email', 'paper')),
    responded BOOLEAN NOT NULL DEFAULT FALSE,
    reminders_sent INTEGER NOT NULL DEFAULT 0,
    last_reminded_at BIGINT,
    UNIQUE (round_id, employee_id)
);
CREATE INDEX invitations_round_unit ON invitations(round_id, unit_id);

-- An anonymous response: the round, the unit at invitation time, the
-- answers. No person, no invitation, no token, no time; the id is random.
CREATE TABLE responses (
    id TEXT PRIMARY KEY NOT NULL,
    round_id TEXT NOT NULL REFERENCES rounds(id),
    unit_id TEXT NOT NULL REFERENCES units(id),
    answers TEXT NOT NULL,
    background TEXT NOT NULL
) WITHOUT ROWID;

-- Response-rate-over-time figures come from these counters, never from
-- the responses.
CREATE TABLE daily_counts (
    round_id TEXT NOT NULL REFERENCES rounds(id),
    unit_id TEXT NOT NULL REFERENCES units(id),
    day TEXT NOT NULL,
    responses INTEGER NOT NULL,
    PRIMARY KEY (round_id, unit_id, day)
);

-- What remains of the invitations after the retention period.
CREATE TABLE invitation_counts (
    round_id TEXT NOT NULL REFERENCES rounds(id),
    unit_id TEXT NOT NULL REFERENCES units(id),
    invited INTEGER NOT NULL,
    responded INTEGER NOT NULL,
    reminded INTEGER NOT NULL,
    PRIMARY KEY (round_id, unit_id)
);

-- Mail to send. A row names what to send (an invitation or reminder), never
-- its secret content: the message is rendered when it is sent. A round's
-- rows are deleted with its invitations: reminders say who had not answered.
CREATE TABLE outbox (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('invitation', 'reminder')),
    round_id TEXT NOT NULL REFERENCES rounds(id),
    invitation_id TEXT NOT NULL REFERENCES invitations(id),
    recipient TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    claimed_by TEXT,
    claimed_at BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    sent_at BIGINT
);
CREATE INDEX outbox_due ON outbox(status, next_attempt_at);
