// The schema, written by hand once for both backends (see migrations/).

diesel::table! {
    units (id) {
        id -> Text,
        code -> Text,
        parent_id -> Nullable<Text>,
        name -> Text,
        active -> Bool,
        updated_at -> BigInt,
        unit_type -> Nullable<Text>,
    }
}

diesel::table! {
    employees (id) {
        id -> Text,
        employee_number -> Text,
        name -> Text,
        email -> Nullable<Text>,
        unit_id -> Text,
        language -> Text,
        active -> Bool,
        updated_at -> BigInt,
        mobile -> Nullable<Text>,
    }
}

diesel::table! {
    unit_leaders (employee_id, unit_id) {
        employee_id -> Text,
        unit_id -> Text,
    }
}

diesel::table! {
    unit_representatives (employee_id, unit_id) {
        employee_id -> Text,
        unit_id -> Text,
    }
}

diesel::table! {
    employee_roles (employee_id, role) {
        employee_id -> Text,
        role -> Text,
    }
}

diesel::table! {
    import_runs (id) {
        id -> Text,
        kind -> Text,
        source -> Text,
        added -> Integer,
        changed -> Integer,
        deactivated -> Integer,
        imported_at -> BigInt,
    }
}

diesel::table! {
    rounds (id) {
        id -> Text,
        title -> Text,
        status -> Text,
        root_unit_id -> Nullable<Text>,
        opens_on -> Text,
        closes_on -> Text,
        min_group_size -> Integer,
        created_at -> BigInt,
        opened_at -> Nullable<BigInt>,
        closed_at -> Nullable<BigInt>,
        delivery -> Text,
    }
}

diesel::table! {
    round_surveys (round_id, position) {
        round_id -> Text,
        position -> Integer,
        survey_id -> Text,
        version -> Text,
        sha256 -> Text,
        content -> Text,
    }
}

diesel::table! {
    invitations (id) {
        id -> Text,
        round_id -> Text,
        employee_id -> Text,
        unit_id -> Text,
        token_hash -> Text,
        code_hash -> Text,
        channel -> Text,
        responded -> Bool,
        reminders_sent -> Integer,
        last_reminded_at -> Nullable<BigInt>,
        withdrawn -> Bool,
    }
}

diesel::table! {
    responses (id) {
        id -> Text,
        round_id -> Text,
        unit_id -> Nullable<Text>,
        answers -> Text,
        background -> Text,
    }
}

diesel::table! {
    daily_counts (round_id, unit_id, day) {
        round_id -> Text,
        unit_id -> Text,
        day -> Text,
        responses -> Integer,
    }
}

diesel::table! {
    invitation_counts (round_id, unit_id) {
        round_id -> Text,
        unit_id -> Text,
        invited -> Integer,
        responded -> Integer,
        reminded -> Integer,
    }
}

diesel::table! {
    outbox (id) {
        id -> Text,
        kind -> Text,
        channel -> Text,
        round_id -> Nullable<Text>,
        invitation_id -> Nullable<Text>,
        account_id -> Nullable<Text>,
        group_key -> Nullable<Text>,
        recipient -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> BigInt,
        claimed_by -> Nullable<Text>,
        claimed_at -> Nullable<BigInt>,
        last_error -> Nullable<Text>,
        created_at -> BigInt,
        sent_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    results_batches (id) {
        id -> Text,
        round_id -> Text,
        group_key -> Text,
        channel -> Text,
        recipients -> Text,
        recipient_count -> Integer,
        created_at -> BigInt,
    }
}

diesel::table! {
    snapshots (round_id) {
        round_id -> Text,
        min_group_size -> Integer,
        computed_at -> BigInt,
        revision -> Integer,
        body -> Nullable<Text>,
        scores -> Nullable<Text>,
        data -> Nullable<Binary>,
        scores_data -> Nullable<Binary>,
    }
}

diesel::table! {
    absence_revision (id) {
        id -> Integer,
        revision -> BigInt,
    }
}

diesel::table! {
    absence_series (unit_id) {
        unit_id -> Text,
        periods -> Binary,
    }
}

diesel::table! {
    unit_staff (unit_id) {
        unit_id -> Text,
        active -> BigInt,
    }
}

diesel::table! {
    login_tokens (token_hash) {
        token_hash -> Text,
        employee_id -> Text,
        expires_at -> BigInt,
        used -> Bool,
    }
}

diesel::table! {
    sessions (id_hash) {
        id_hash -> Text,
        employee_id -> Text,
        csrf -> Text,
        expires_at -> BigInt,
    }
}

diesel::table! {
    absence_targets (unit_id, year, kind) {
        unit_id -> Text,
        year -> Integer,
        kind -> Text,
        percent -> Nullable<Double>,
        national -> Bool,
        updated_at -> BigInt,
    }
}

diesel::table! {
    national_rates (quarter, measure) {
        quarter -> Text,
        measure -> Text,
        percent -> Double,
        source -> Text,
        imported_at -> BigInt,
    }
}

diesel::table! {
    measure_types (key) {
        key -> Text,
        name_nb -> Text,
        name_nn -> Text,
        name_en -> Text,
        builtin -> Bool,
    }
}

diesel::table! {
    measures (id) {
        id -> Text,
        title -> Text,
        type_key -> Text,
        started_on -> Text,
        ended_on -> Nullable<Text>,
        responsible -> Text,
        status -> Text,
        factor -> Nullable<Text>,
        round_id -> Nullable<Text>,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    measure_units (measure_id, unit_id) {
        measure_id -> Text,
        unit_id -> Text,
    }
}

diesel::table! {
    accounts (id) {
        id -> Text,
        unit_id -> Text,
        kind -> Text,
        period_start -> Text,
        period_end -> Text,
        rate -> Double,
        target -> Double,
        requested_at -> BigInt,
        due_on -> Text,
        reminders_sent -> Integer,
        last_reminded_at -> Nullable<BigInt>,
        answered_at -> Nullable<BigInt>,
        done_now -> Nullable<Text>,
        planned -> Nullable<Text>,
        support -> Nullable<Text>,
        support_other -> Nullable<Text>,
    }
}

diesel::table! {
    pending_imports (id) {
        id -> Text,
        kind -> Text,
        source -> Text,
        content -> Binary,
        created_at -> BigInt,
    }
}

diesel::table! {
    absence (id) {
        id -> Text,
        unit_id -> Text,
        period_start -> Text,
        period_end -> Text,
        agreed_workdays -> Double,
        lost_workdays -> Double,
        lost_self_certified -> Nullable<Double>,
        lost_doctor_certified -> Nullable<Double>,
        lost_long_term -> Nullable<Double>,
        headcount -> Nullable<Integer>,
        imported_at -> BigInt,
    }
}

diesel::table! {
    norms (unit_type, factor, scope) {
        unit_type -> Text,
        factor -> Text,
        scope -> Text,
        mean -> Double,
        source -> Text,
        imported_at -> BigInt,
    }
}

diesel::table! {
    live_rows (round_id, unit_id) {
        round_id -> Text,
        unit_id -> Text,
        row_unit_id -> Text,
    }
}

diesel::table! {
    result_links (token_hash) {
        token_hash -> Text,
        round_id -> Text,
        group_key -> Text,
    }
}

diesel::table! {
    oidc_logins (state_hash) {
        state_hash -> Text,
        pkce_verifier -> Text,
        nonce -> Text,
        expires_at -> BigInt,
    }
}

diesel::joinable!(absence -> units (unit_id));
diesel::joinable!(unit_representatives -> employees (employee_id));
diesel::joinable!(unit_representatives -> units (unit_id));
diesel::joinable!(employees -> units (unit_id));
diesel::joinable!(invitations -> employees (employee_id));
diesel::joinable!(invitations -> rounds (round_id));
diesel::joinable!(outbox -> invitations (invitation_id));
diesel::joinable!(outbox -> rounds (round_id));
diesel::joinable!(results_batches -> rounds (round_id));
diesel::joinable!(unit_leaders -> employees (employee_id));
diesel::joinable!(unit_leaders -> units (unit_id));
diesel::joinable!(employee_roles -> employees (employee_id));
diesel::joinable!(snapshots -> rounds (round_id));
diesel::joinable!(round_surveys -> rounds (round_id));
diesel::joinable!(absence_targets -> units (unit_id));
diesel::joinable!(measures -> measure_types (type_key));
diesel::joinable!(measure_units -> measures (measure_id));
diesel::joinable!(measure_units -> units (unit_id));
diesel::joinable!(accounts -> units (unit_id));
diesel::joinable!(outbox -> accounts (account_id));
diesel::joinable!(sessions -> employees (employee_id));
diesel::joinable!(login_tokens -> employees (employee_id));

diesel::allow_tables_to_appear_in_same_query!(
    units,
    employees,
    unit_leaders,
    unit_representatives,
    employee_roles,
    import_runs,
    rounds,
    round_surveys,
    invitations,
    responses,
    daily_counts,
    invitation_counts,
    outbox,
    results_batches,
    snapshots,
    login_tokens,
    sessions,
    absence_targets,
    national_rates,
    measure_types,
    measures,
    measure_units,
    accounts,
    pending_imports,
    absence,
    norms,
    live_rows,
    result_links,
    oidc_logins,
);
