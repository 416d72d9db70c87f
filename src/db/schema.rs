// The schema, written by hand once for both backends (see migrations/).

diesel::table! {
    units (id) {
        id -> Text,
        code -> Text,
        parent_id -> Nullable<Text>,
        name -> Text,
        active -> Bool,
        updated_at -> BigInt,
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
    }
}

diesel::table! {
    unit_leaders (employee_id, unit_id) {
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

diesel::joinable!(employees -> units (unit_id));
diesel::joinable!(unit_leaders -> employees (employee_id));
diesel::joinable!(unit_leaders -> units (unit_id));
diesel::joinable!(employee_roles -> employees (employee_id));

diesel::allow_tables_to_appear_in_same_query!(
    units,
    employees,
    unit_leaders,
    employee_roles,
    import_runs
);
