//! The layer order of `src/lib.rs`, held by a test: every `crate::…` (and
//! `super::…`) path in a source file may name only its own module or a
//! module of a lower layer. One total order, so there can be no import
//! cycle, between layers or within one. And the pure cores never reach the
//! database, the web or the file system.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Lowest first. A file belongs to the longest entry that prefixes its
/// module path; so does every path it names.
const ORDER: &[&str] = &[
    // Leaves: no database, no web.
    "lang",
    "stats",
    "survey",
    "error",
    "crypto",
    "ids",
    "config",
    "metrics",
    "net",
    "snapshot::model",
    "snapshot::anonymity",
    "snapshot::compute",
    "analysis::model",
    "analysis::summary",
    "analysis::compute",
    // The database.
    "db",
    // The domain.
    "cache",
    "access",
    "auth",
    "register",
    "import",
    "mail",
    "snapshot",
    "rounds",
    "export",
    "results",
    "analysis",
    "followup",
    "retention",
    "processing",
    "backup",
    "demo",
    "migrate",
    // The application's edges.
    "web",
    "bench",
    "cli",
];

/// Pure: given values, they compute values. They never open a connection,
/// a socket or a file.
const PURE: &[&str] = &[
    "lang",
    "stats",
    "snapshot::model",
    "snapshot::anonymity",
    "snapshot::compute",
    "analysis::model",
    "analysis::summary",
    "analysis::compute",
    "access",
];
const IMPURE: &[&str] = &[
    "diesel",
    "actix_web",
    "std::fs",
    "std::net",
    "crate::db",
    "lettre",
];

fn rank(module: &str) -> Option<(usize, &'static str)> {
    ORDER
        .iter()
        .enumerate()
        .filter(|(_, m)| module == **m || module.starts_with(&format!("{m}::")))
        .max_by_key(|(_, m)| m.len())
        .map(|(i, m)| (i, *m))
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// `src/web/views/amu.rs` → `web::views::amu`; `src/snapshot/mod.rs` →
/// `snapshot`.
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts.join("::")
}

/// The code without comments, string literals and `#[cfg(test)]` modules
/// (a test may reach anything).
fn code(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => text,
    };
    let mut out = String::new();
    for line in text.lines() {
        let line = match line.find("//") {
            Some(i) if !line[..i].contains('"') => &line[..i],
            _ => line,
        };
        // Drop string literals (a path inside a message is not an import).
        let mut in_str = false;
        let mut prev = ' ';
        for c in line.chars() {
            if c == '"' && prev != '\\' {
                in_str = !in_str;
            } else if !in_str {
                out.push(c);
            }
            prev = c;
        }
        out.push('\n');
    }
    out
}

/// Every module path the code names through `crate::` or `super::`,
/// including the members of `crate::{a, b::c}` groups.
fn named(module: &str, is_mod_rs: bool, code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
            .collect::<String>()
            .trim_end_matches(':')
            .to_string()
    };
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        let after = &rest[i + 7..];
        if let Some(group) = after.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for member in group[..end].split(',') {
                let m = ident(member.trim());
                if !m.is_empty() {
                    out.insert(m);
                }
            }
        } else {
            out.insert(ident(after));
        }
        rest = after;
    }
    // `super::x` from `a::b` (a file) names `a::x`; from `a::b` (a mod.rs)
    // it names the parent of `a::b`.
    let mut parent: Vec<&str> = module.split("::").collect();
    if !is_mod_rs || parent.len() > 1 {
        parent.pop();
    }
    let mut rest = code;
    while let Some(i) = rest.find("super::") {
        let after = &rest[i + 7..];
        let m = ident(after.trim_start_matches('{'));
        if !m.is_empty() && !m.starts_with("super") {
            let mut full = parent.clone();
            full.push(&m);
            out.insert(full.join("::"));
        }
        rest = after;
    }
    // Items re-exported at the crate root.
    out.into_iter()
        .map(|m| match m.split("::").next().unwrap_or("") {
            "AppError" => "error".to_string(),
            "on_backend" => "db".to_string(),
            _ => m,
        })
        .filter(|m| m.chars().next().is_some_and(|c| c.is_lowercase()))
        .collect()
}

#[test]
fn no_module_names_a_module_of_a_higher_layer_and_the_cores_stay_pure() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut all = Vec::new();
    files(&src, &mut all);
    all.sort();
    let mut wrong = Vec::new();
    let mut checked = 0;
    for file in &all {
        let module = module_of(&src, file);
        if module == "main" || module == "lib" {
            continue;
        }
        let Some((own, own_name)) = rank(&module) else {
            wrong.push(format!(
                "{module}: not in the layer order of tests/it/layers.rs"
            ));
            continue;
        };
        let text = code(&std::fs::read_to_string(file).unwrap());
        let is_mod_rs = file.file_name().is_some_and(|n| n == "mod.rs");
        for m in named(&module, is_mod_rs, &text) {
            let Some((theirs, their_name)) = rank(&m) else {
                // A crate-root item (a type re-exported there): fine.
                continue;
            };
            checked += 1;
            if theirs > own {
                wrong.push(format!(
                    "{module} ({own_name}) names {m} ({their_name}), a higher layer"
                ));
            }
        }
        if PURE.contains(&own_name) {
            for bad in IMPURE {
                if text.contains(bad) {
                    wrong.push(format!("{module} is a pure core but uses {bad}"));
                }
            }
        }
    }
    assert!(
        checked > 200,
        "only {checked} paths checked: is the parser broken?"
    );
    assert!(
        wrong.is_empty(),
        "layer order broken:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_layer_check_finds_what_it_must() {
    // The parser itself: groups, nested paths, super from a file and from
    // a mod.rs, and nothing from comments or strings.
    let code = code(
        "use crate::{db::schema, lang::Lang, AppError};\n\
         use super::anonymity::release; // crate::web in a comment\n\
         let s = \"crate::cli\";\n\
         crate::mail::send();\n",
    );
    let got = named("snapshot::compute", false, &code);
    let want: BTreeSet<String> = [
        "db::schema",
        "lang::Lang",
        "error",
        "snapshot::anonymity::release",
        "mail::send",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert_eq!(got, want);
    let from_file = named("web::admin", false, "use super::views;");
    assert_eq!(from_file, ["web::views".to_string()].into());
    let from_mod = named("snapshot::compute", true, "use super::model;");
    assert_eq!(from_mod, ["snapshot::model".to_string()].into());
    assert_eq!(rank("snapshot::compute::x").unwrap().1, "snapshot::compute");
    assert_eq!(rank("snapshot::build").unwrap().1, "snapshot");
    assert!(rank("db").unwrap().0 < rank("web").unwrap().0);
}
