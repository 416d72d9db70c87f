//! Packaging: the Debian package is built from the test binary by
//! `packaging/build-deb.sh`, installed with dpkg (as root: CI and the
//! project's machines; elsewhere only its contents are checked, said on
//! stderr, and CI refuses that), its unit file passes `systemd-analyze
//! verify`, `serve` runs as the package's user with the package's
//! settings, an upgrade keeps the settings, and a purge removes them but
//! not the data. The container files are checked against the binary:
//! the libraries it links are installed in the runtime image, its settings
//! parse, its health check is a command the binary has. (No container
//! engine runs here; README says what was run where.)

use crate::support::{free_port, naervaer_bin};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{cmd:?} cannot start: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn is_root() -> bool {
    text(&run(Command::new("id").arg("-u"))).trim() == "0"
}

/// The package built from the test binary, in `dir`.
fn build_deb(dir: &Path) -> PathBuf {
    let out = run(Command::new("bash")
        .arg(root().join("packaging/build-deb.sh"))
        .arg(naervaer_bin())
        .arg(dir));
    PathBuf::from(text(&out).trim())
}

/// The environment file's settings as (name, value).
fn env_file(path: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

fn mode_owner(path: &str) -> String {
    text(&run(Command::new("stat").args(["-c", "%a %U:%G", path])))
        .trim()
        .to_string()
}

#[test]
fn the_debian_package_installs_serves_as_its_own_user_upgrades_and_purges() {
    let dir = tempfile::tempdir().unwrap();
    let deb = build_deb(dir.path());
    let info = text(&run(Command::new("dpkg-deb").arg("--info").arg(&deb)));
    for needed in ["Package: naervaer", "libssl3", "adduser"] {
        assert!(info.contains(needed), "{needed} not in\n{info}");
    }
    // libpq is built into the binary, not a package it needs.
    assert!(!info.contains("libpq5"), "{info}");
    let contents = text(&run(Command::new("dpkg-deb").arg("--contents").arg(&deb)));
    for path in [
        "./usr/bin/naervaer",
        "./lib/systemd/system/naervaer.service",
        "./usr/share/naervaer/naervaer.env",
        "./usr/share/doc/naervaer/README.md",
    ] {
        assert!(contents.contains(path), "{path} not in\n{contents}");
    }

    // The unit file, by systemd's own checker; a broken one must fail it
    // (so a silent checker cannot pass the real one).
    let unit = root().join("packaging/naervaer.service");
    let verify = |unit: &Path| {
        Command::new("systemd-analyze")
            .arg("verify")
            .arg(unit)
            .output()
            .expect("systemd-analyze (apt-get install systemd) checks the unit file")
    };
    let broken = dir.path().join("naervaer.service");
    std::fs::write(
        &broken,
        std::fs::read_to_string(&unit)
            .unwrap()
            .replace(
                "ExecStart=/usr/bin/naervaer serve",
                "ExecStart=/usr/bin/naervaer-missing serve",
            )
            .replace("Restart=on-failure", "Restart=sometimes"),
    )
    .unwrap();
    let refused = verify(&broken);
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success()
            && said.contains("restart specifier")
            && said.contains("naervaer-missing"),
        "systemd-analyze accepts a broken unit: {said}"
    );

    if !is_root() {
        assert!(
            std::env::var("CI").is_err(),
            "CI runs as root: the package must really be installed"
        );
        eprintln!("NOTE: not root, so the .deb was built and checked but not installed");
        return;
    }
    let data = Path::new("/var/lib/naervaer");
    assert!(
        !data.join("naervaer.db").exists(),
        "/var/lib/naervaer/naervaer.db exists: this machine runs naervaer; not touching it"
    );

    /// Purges the package and the test's data however the test ends.
    struct Installed;
    impl Drop for Installed {
        fn drop(&mut self) {
            let _ = Command::new("dpkg").args(["--purge", "naervaer"]).output();
            let _ = std::fs::remove_dir_all("/var/lib/naervaer");
        }
    }
    let _installed = Installed;
    run(Command::new("dpkg").arg("-i").arg(&deb));
    let installed = Path::new("/lib/systemd/system/naervaer.service");
    let v = verify(installed);
    assert!(
        v.status.success() && v.stderr.is_empty(),
        "systemd-analyze verify: {}",
        String::from_utf8_lossy(&v.stderr)
    );
    let version = text(&run(Command::new("/usr/bin/naervaer").arg("--version")));
    assert_eq!(
        version.trim(),
        format!("naervaer {}", env!("CARGO_PKG_VERSION"))
    );
    assert!(text(&run(Command::new("id").args(["-u", "naervaer"]))).trim() != "0");
    assert_eq!(
        mode_owner("/etc/naervaer/naervaer.env"),
        "640 root:naervaer"
    );
    assert_eq!(mode_owner("/var/lib/naervaer"), "750 naervaer:naervaer");
    let settings = env_file(Path::new("/etc/naervaer/naervaer.env"));
    let key = settings
        .iter()
        .find(|(k, _)| k == "NAERVAER_SECRET_KEY")
        .map(|(_, v)| v.clone())
        .unwrap();
    assert_eq!(key.len(), 64, "a new secret key on installation");

    // serve as the unit runs it: its user, its settings, its directory.
    let port = free_port();
    let bind = format!("127.0.0.1:{port}");
    let as_service = |args: &[&str]| {
        // setpriv execs (runuser would fork, and a kill would miss serve).
        let mut c = Command::new("setpriv");
        c.args([
            "--reuid=naervaer",
            "--regid=naervaer",
            "--init-groups",
            "--",
            "/usr/bin/naervaer",
        ])
        .args(args)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .envs(settings.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("NAERVAER_BIND", &bind)
        .current_dir("/var/lib/naervaer");
        c
    };
    let mut serve = as_service(&["serve"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if as_service(&["health"]).output().unwrap().status.success() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the installed service did not come up"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = serve.kill();
    let _ = serve.wait();
    assert_eq!(
        mode_owner("/var/lib/naervaer/naervaer.db")
            .split(' ')
            .nth(1),
        Some("naervaer:naervaer")
    );
    // Stopped: the health check says so.
    assert!(!as_service(&["health"]).output().unwrap().status.success());

    // An upgrade (the same package again) keeps the settings and the key.
    run(Command::new("dpkg").arg("-i").arg(&deb));
    assert_eq!(env_file(Path::new("/etc/naervaer/naervaer.env")), settings);

    // Purge: the program and its settings go, the survey data stays.
    run(Command::new("dpkg").args(["--purge", "naervaer"]));
    assert!(!Path::new("/usr/bin/naervaer").exists());
    assert!(!installed.exists());
    assert!(!Path::new("/etc/naervaer").exists());
    assert!(data.join("naervaer.db").exists(), "purge deleted the data");
}

/// The instruction lines of the Dockerfile's last stage.
fn runtime_stage(dockerfile: &str) -> Vec<String> {
    let mut stages: Vec<Vec<String>> = Vec::new();
    let mut current = String::new();
    for line in dockerfile.lines() {
        let l = line.trim();
        if l.starts_with('#') || l.is_empty() {
            continue;
        }
        current += l.trim_end_matches('\\');
        current += " ";
        if !l.ends_with('\\') {
            let instruction = current.trim().to_string();
            current.clear();
            if instruction.starts_with("FROM ") {
                stages.push(Vec::new());
            }
            stages.last_mut().unwrap().push(instruction);
        }
    }
    stages.pop().unwrap()
}

#[test]
fn the_container_image_installs_what_the_binary_links_and_runs_it_as_a_user() {
    let dockerfile = std::fs::read_to_string(root().join("Dockerfile")).unwrap();
    let stage = runtime_stage(&dockerfile);
    assert!(
        stage[0].starts_with("FROM debian:bookworm-slim"),
        "{stage:?}"
    );
    let installed: Vec<&str> = stage
        .iter()
        .filter(|i| i.contains("apt-get install"))
        .flat_map(|i| i.split_whitespace())
        .collect();
    // The libraries the binary links, as packages (dpkg-shlibdeps), except
    // what every Debian image has.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("debian")).unwrap();
    std::fs::write(
        dir.path().join("debian/control"),
        "Source: naervaer\n\nPackage: naervaer\nArchitecture: any\n",
    )
    .unwrap();
    let deps = text(&run(Command::new("dpkg-shlibdeps")
        .args(["-O", "-e"])
        .arg(naervaer_bin())
        .current_dir(dir.path())));
    let packages: Vec<String> = deps
        .trim()
        .trim_start_matches("shlibs:Depends=")
        .split(',')
        .map(|d| d.split_whitespace().next().unwrap().to_string())
        .filter(|p| p != "libc6" && p != "libgcc-s1")
        .collect();
    // OpenSSL (TLS for SMTP, HTTPS and PostgreSQL); libpq is built in.
    assert!(packages.iter().any(|p| p == "libssl3"), "{packages:?}");
    assert!(!packages.iter().any(|p| p == "libpq5"), "{packages:?}");
    for p in &packages {
        assert!(
            installed.contains(&p.as_str()),
            "the runtime image lacks {p}"
        );
    }
    // A user of its own, not root.
    let user = stage.iter().find(|i| i.starts_with("USER ")).expect("USER");
    assert!(!user.ends_with(" root") && !user.ends_with(" 0"), "{user}");
    // The health check is a subcommand the binary has, and it works.
    let health = stage
        .iter()
        .find(|i| i.starts_with("HEALTHCHECK"))
        .expect("HEALTHCHECK");
    assert!(health.contains(r#"CMD ["naervaer", "health"]"#), "{health}");
    // The image's settings parse: `naervaer config` with its ENV.
    let env: Vec<(String, String)> = stage
        .iter()
        .filter(|i| i.starts_with("ENV "))
        .flat_map(|i| i[4..].split_whitespace().map(str::to_string))
        .filter_map(|kv| kv.split_once('=').map(|(k, v)| (k.into(), v.into())))
        .collect();
    assert!(env
        .iter()
        .any(|(k, v)| k == "NAERVAER_BIND" && v.starts_with("0.0.0.0:")));
    let config = run(Command::new(naervaer_bin())
        .arg("config")
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v))));
    assert!(text(&config).contains("NAERVAER_BIND=0.0.0.0:8080"));
    // Everything the build reads is copied into the build stage.
    for needed in [
        "src",
        "migrations",
        "surveys",
        "static",
        "benches",
        "build.rs",
        "Cargo.lock",
    ] {
        assert!(
            dockerfile
                .lines()
                .any(|l| l.starts_with("COPY ") && l.split_whitespace().any(|w| w == needed)),
            "the build stage does not copy {needed}"
        );
    }
    // And .dockerignore keeps none of it out.
    let ignore = std::fs::read_to_string(root().join(".dockerignore")).unwrap();
    for needed in ["src", "migrations", "surveys", "static", "benches"] {
        assert!(
            !ignore.lines().any(|l| l.trim() == needed),
            "{needed} ignored"
        );
    }
}

#[test]
fn the_compose_file_runs_the_image_on_postgresql_with_settings_the_binary_accepts() {
    let python = std::env::var("NAERVAER_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let out = run(Command::new(&python).args([
        "-c",
        "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))",
        root().join("compose.yaml").to_str().unwrap(),
    ]));
    let compose: serde_json::Value = serde_json::from_str(&text(&out)).unwrap();
    let app = &compose["services"]["naervaer"];
    let db = &compose["services"]["db"];
    assert_eq!(app["build"], ".");
    assert!(db["image"].as_str().unwrap().starts_with("postgres:15"));
    assert_eq!(app["depends_on"]["db"]["condition"], "service_healthy");
    assert!(db["healthcheck"]["test"].to_string().contains("pg_isready"));
    let env = app["environment"].as_object().unwrap();
    let url = env["NAERVAER_DATABASE_URL"].as_str().unwrap();
    let user = db["environment"]["POSTGRES_USER"].as_str().unwrap();
    let password = db["environment"]["POSTGRES_PASSWORD"].as_str().unwrap();
    let name = db["environment"]["POSTGRES_DB"].as_str().unwrap();
    assert_eq!(url, format!("postgres://{user}:{password}@db:5432/{name}"));
    // Every variable is one the binary knows, and together they parse.
    let mut cmd = Command::new(naervaer_bin());
    cmd.arg("config").env_clear();
    for (k, v) in env {
        let v = v.as_str().unwrap();
        let v = if v.starts_with("${NAERVAER_SECRET_KEY") {
            crate::support::TEST_KEY
        } else {
            v
        };
        cmd.env(k, v);
    }
    let described = text(&run(&mut cmd));
    for k in env.keys() {
        assert!(described.contains(&format!("{k}=")), "{k} is not a setting");
    }
}
