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

/// README's configuration table lists every setting, and nothing else.
#[test]
fn the_readme_documents_every_setting() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let start = readme.find("## Configuration").unwrap();
    let table = &readme[start..start + readme[start..].find("\n## ").unwrap()];
    let documented: std::collections::BTreeSet<String> = table
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split('`').next())
        .filter(|v| v.starts_with("NAERVAER_"))
        .map(str::to_string)
        .collect();
    let settings = Settings::from_sources(&HashMap::new(), None).unwrap();
    let mut known: std::collections::BTreeSet<String> = settings
        .describe()
        .lines()
        .filter_map(|l| l.split_once('=').map(|(k, _)| k.to_string()))
        .collect();
    // Read outside the settings: the log filter.
    known.insert("NAERVAER_LOG".into());
    assert_eq!(
        documented, known,
        "README's configuration table ≠ the settings"
    );
}
