-- The organisation as the HR system describes it. Rows are never deleted by
-- an import: a unit or person missing from a new file is deactivated, because
-- old rounds still refer to them.
CREATE TABLE units (
    id TEXT PRIMARY KEY NOT NULL,
    code TEXT NOT NULL UNIQUE,
    parent_id TEXT REFERENCES units(id),
    name TEXT NOT NULL,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    updated_at BIGINT NOT NULL
);
CREATE INDEX units_parent_id ON units(parent_id);

CREATE TABLE employees (
    id TEXT PRIMARY KEY NOT NULL,
    employee_number TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    email TEXT,
    unit_id TEXT NOT NULL REFERENCES units(id),
    language TEXT NOT NULL DEFAULT 'nb' CHECK (language IN ('nb', 'nn', 'en')),
    active BOOLEAN NOT NULL DEFAULT TRUE,
    updated_at BIGINT NOT NULL
);
CREATE INDEX employees_unit_id ON employees(unit_id);

-- A person may lead several units.
CREATE TABLE unit_leaders (
    employee_id TEXT NOT NULL REFERENCES employees(id) ON DELETE CASCADE,
    unit_id TEXT NOT NULL REFERENCES units(id),
    PRIMARY KEY (employee_id, unit_id)
);

CREATE TABLE employee_roles (
    employee_id TEXT NOT NULL REFERENCES employees(id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('amu', 'admin')),
    PRIMARY KEY (employee_id, role)
);

-- What each applied import did, for the administrator's history.
CREATE TABLE import_runs (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    source TEXT NOT NULL,
    added INTEGER NOT NULL,
    changed INTEGER NOT NULL,
    deactivated INTEGER NOT NULL,
    imported_at BIGINT NOT NULL
);
