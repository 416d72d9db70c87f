-- The follow-up cycle: absence targets per unit and year, the national
-- reference, the register of measures (which takes in the action plans),
-- and the written accounts of units above their targets.

-- A unit's highest acceptable absence rate in a year (total or long-term):
-- a percentage, or the national level of the same measure.
CREATE TABLE absence_targets (
    unit_id TEXT NOT NULL REFERENCES units(id),
    year INTEGER NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('total', 'long_term')),
    percent DOUBLE PRECISION,
    national BOOLEAN NOT NULL DEFAULT FALSE,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (unit_id, year, kind),
    CHECK ((national AND percent IS NULL) OR (NOT national AND percent IS NOT NULL))
);

-- Statistics Norway's sickness-absence percentages per quarter.
CREATE TABLE national_rates (
    quarter TEXT NOT NULL,
    measure TEXT NOT NULL CHECK (measure IN ('total', 'self_certified', 'doctor_certified')),
    percent DOUBLE PRECISION NOT NULL,
    source TEXT NOT NULL,
    imported_at BIGINT NOT NULL,
    PRIMARY KEY (quarter, measure)
);

CREATE TABLE measure_types (
    key TEXT PRIMARY KEY NOT NULL,
    name_nb TEXT NOT NULL,
    name_nn TEXT NOT NULL,
    name_en TEXT NOT NULL,
    builtin BOOLEAN NOT NULL DEFAULT FALSE
);
INSERT INTO measure_types (key, name_nb, name_nn, name_en, builtin) VALUES
    ('dialogmote_null', 'Dialogmøte null', 'Dialogmøte null', 'Dialogue meeting zero', TRUE),
    ('leder_for_lege', 'Leder før lege', 'Leiar før lege', 'Leader before doctor', TRUE),
    ('innsatsgruppe', 'Innsatsgruppe', 'Innsatsgruppe', 'Intervention team', TRUE),
    ('vernerunde', 'Vernerunde', 'Vernerunde', 'Safety inspection round', TRUE),
    ('arbeidsmiljokartlegging', 'Arbeidsmiljøkartlegging', 'Arbeidsmiljøkartlegging', 'Working-environment survey', TRUE),
    ('bht', 'Bistand fra bedriftshelsetjenesten', 'Bistand frå bedriftshelsetenesta', 'Occupational health service support', TRUE),
    ('nav_arbeidslivssenter', 'Samarbeid med NAV arbeidslivssenter', 'Samarbeid med NAV arbeidslivssenter', 'NAV working-life centre cooperation', TRUE),
    ('lederstotte', 'Lederstøtte og kompetanseheving', 'Leiarstøtte og kompetanseheving', 'Leader support and training', TRUE),
    ('fokussak_personalmote', 'Sykefravær som fokussak på personalmøter', 'Sjukefråvær som fokussak på personalmøte', 'Absence as a focus at staff meetings', TRUE),
    ('oppfolging_undersokelse', 'Oppfølging av medarbeiderundersøkelsen', 'Oppfølging av medarbeidarundersøkinga', 'Follow-up of the employee survey', TRUE);

CREATE TABLE measures (
    id TEXT PRIMARY KEY NOT NULL,
    title TEXT NOT NULL,
    type_key TEXT NOT NULL REFERENCES measure_types(key),
    started_on TEXT NOT NULL,
    ended_on TEXT,
    responsible TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('planned', 'ongoing', 'done', 'stopped')),
    factor TEXT,
    round_id TEXT REFERENCES rounds(id),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE TABLE measure_units (
    measure_id TEXT NOT NULL REFERENCES measures(id),
    unit_id TEXT NOT NULL REFERENCES units(id),
    PRIMARY KEY (measure_id, unit_id)
);
CREATE INDEX measure_units_unit ON measure_units (unit_id);

-- The action plans of survey results become measures of the register.
INSERT INTO measures (id, title, type_key, started_on, ended_on, responsible, status, factor, round_id, created_at, updated_at)
    SELECT id, measure, 'oppfolging_undersokelse', to_char(to_timestamp(updated_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD'), due_on, responsible,
           CASE WHEN done THEN 'done' ELSE 'ongoing' END, factor, round_id, updated_at, updated_at
    FROM action_items;
INSERT INTO measure_units (measure_id, unit_id) SELECT id, unit_id FROM action_items;
DROP TABLE action_items;

-- A unit above its target in a period, and its leader's written account.
CREATE TABLE accounts (
    id TEXT PRIMARY KEY NOT NULL,
    unit_id TEXT NOT NULL REFERENCES units(id),
    kind TEXT NOT NULL CHECK (kind IN ('total', 'long_term')),
    period_start TEXT NOT NULL,
    period_end TEXT NOT NULL,
    rate DOUBLE PRECISION NOT NULL,
    target DOUBLE PRECISION NOT NULL,
    requested_at BIGINT NOT NULL,
    due_on TEXT NOT NULL,
    reminders_sent INTEGER NOT NULL DEFAULT 0,
    last_reminded_at BIGINT,
    answered_at BIGINT,
    done_now TEXT,
    planned TEXT,
    support TEXT,
    support_other TEXT,
    UNIQUE (unit_id, kind, period_start, period_end)
);

-- The outbox carries account requests too: a message names an invitation
-- or an account.
ALTER TABLE outbox ALTER COLUMN round_id DROP NOT NULL;
ALTER TABLE outbox ALTER COLUMN invitation_id DROP NOT NULL;
ALTER TABLE outbox ADD COLUMN account_id TEXT REFERENCES accounts(id);
ALTER TABLE outbox DROP CONSTRAINT outbox_kind_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_kind_check CHECK (kind IN ('invitation', 'reminder', 'account', 'account_reminder'));
ALTER TABLE outbox ADD CONSTRAINT outbox_names_something CHECK ((invitation_id IS NOT NULL AND round_id IS NOT NULL) OR account_id IS NOT NULL);
CREATE INDEX outbox_account ON outbox(account_id);
