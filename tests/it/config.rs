use naervaer::config::Settings;
use std::collections::HashMap;

fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn defaults_are_sqlite_and_k_five() {
    let s = Settings::from_sources(&env(&[]), None).unwrap();
    assert_eq!(s.database_url.expose(), "sqlite://naervaer.db");
    assert_eq!(s.min_group_size, 5);
    assert_eq!(s.bind, "127.0.0.1:8080");
}

#[test]
fn a_minimum_group_size_below_three_is_refused() {
    for k in ["0", "2"] {
        let e = Settings::from_sources(&env(&[("NAERVAER_MIN_GROUP_SIZE", k)]), None).unwrap_err();
        assert!(e.to_string().contains("may never be below 3"), "{e}");
    }
    assert!(Settings::from_sources(&env(&[("NAERVAER_MIN_GROUP_SIZE", "fem")]), None).is_err());
    assert_eq!(
        Settings::from_sources(&env(&[("NAERVAER_MIN_GROUP_SIZE", "3")]), None)
            .unwrap()
            .min_group_size,
        3
    );
}

#[test]
fn the_environment_wins_over_the_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("naervaer.toml");
    std::fs::write(
        &file,
        "bind = \"0.0.0.0:9000\"\nmin_group_size = 7\nlang = \"nn\"\n",
    )
    .unwrap();
    let s = Settings::from_sources(&env(&[("NAERVAER_MIN_GROUP_SIZE", "6")]), Some(&file)).unwrap();
    assert_eq!(s.bind, "0.0.0.0:9000");
    assert_eq!(s.min_group_size, 6);
    assert_eq!(s.lang, naervaer::lang::Lang::Nn);
    // The file may also be named by NAERVAER_CONFIG.
    let s =
        Settings::from_sources(&env(&[("NAERVAER_CONFIG", file.to_str().unwrap())]), None).unwrap();
    assert_eq!(s.min_group_size, 7);
    std::fs::write(&file, "min_group_sise = 7\n").unwrap();
    let e = Settings::from_sources(&env(&[]), Some(&file)).unwrap_err();
    assert!(
        e.to_string().contains("unknown field `min_group_sise`"),
        "{e}"
    );
}

#[test]
fn describe_masks_every_secret() {
    let s = Settings::from_sources(
        &env(&[
            (
                "NAERVAER_DATABASE_URL",
                "postgres://naervaer:S3cret@db.example:5432/naervaer",
            ),
            (
                "NAERVAER_SMTP_URL",
                "smtp://mailer:Pa55word@smtp.example:587?tls=starttls",
            ),
        ]),
        None,
    )
    .unwrap();
    let text = s.describe();
    assert!(
        !text.contains("S3cret") && !text.contains("Pa55word"),
        "{text}"
    );
    assert!(
        text.contains("NAERVAER_DATABASE_URL=postgres://naervaer:***@db.example:5432/naervaer"),
        "{text}"
    );
    assert!(
        text.contains("NAERVAER_SMTP_URL=smtp://mailer:***@smtp.example:587?tls=starttls"),
        "{text}"
    );
    assert!(
        !format!("{s:?}").contains("S3cret"),
        "Debug must not print secrets"
    );
}
