//! The shape of the house, checked: dependencies point one way (web →
//! governance / recorder → catalog / storage / media / evidence → crypto / policy
//! → base),
//! and the binary takes nothing from the web crate but the server entry point
//! (every other door goes through the application layer).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Each crate's floor; a crate may depend only on crates of a lower floor.
const FLOORS: &[(&str, u32)] = &[
    ("mimamori-base", 0),
    ("mimamori-crypto", 1),
    ("mimamori-policy", 1),
    ("mimamori-catalog", 2),
    ("mimamori-storage", 2),
    ("mimamori-media", 2),
    ("mimamori-evidence", 2),
    ("mimamori-forms", 1),
    ("mimamori-governance", 3),
    ("mimamori-recorder", 3),
    ("mimamori-web", 4),
    ("mimamori", 5),
];

fn crates_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The mimamori crates a manifest depends on (normal dependencies only).
fn internal_dependencies(manifest: &Path) -> (String, Vec<String>) {
    let text = std::fs::read_to_string(manifest).unwrap();
    let doc: toml::Table = toml::from_str(&text).unwrap();
    let name = doc["package"]["name"].as_str().unwrap().to_string();
    let deps = doc
        .get("dependencies")
        .and_then(|d| d.as_table())
        .map(|t| {
            t.keys()
                .filter(|k| k.starts_with("mimamori"))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    (name, deps)
}

/// Violations of the floors in a set of manifests: (crate, dependency) pairs.
fn upward_dependencies(manifests: &BTreeMap<String, Vec<String>>) -> Vec<String> {
    let floor = |c: &str| FLOORS.iter().find(|(n, _)| *n == c).map(|(_, f)| *f);
    let mut bad = Vec::new();
    for (name, deps) in manifests {
        let Some(mine) = floor(name) else {
            bad.push(format!("{name} has no floor in FLOORS"));
            continue;
        };
        for d in deps {
            match floor(d) {
                Some(f) if f < mine => {}
                _ => bad.push(format!("{name} depends on {d}, which is not below it")),
            }
        }
    }
    bad
}

#[test]
fn every_crate_depends_only_on_crates_below_it() {
    let mut manifests = BTreeMap::new();
    for entry in std::fs::read_dir(crates_dir()).unwrap() {
        let manifest = entry.unwrap().path().join("Cargo.toml");
        if manifest.exists() {
            let (name, deps) = internal_dependencies(&manifest);
            manifests.insert(name, deps);
        }
    }
    assert_eq!(manifests.len(), FLOORS.len(), "{manifests:?}");
    let bad = upward_dependencies(&manifests);
    assert!(bad.is_empty(), "{bad:#?}");
    // The check itself fails on an upward arrow and on two crates of one floor.
    let mut wrong = manifests.clone();
    wrong
        .get_mut("mimamori-catalog")
        .unwrap()
        .push("mimamori-governance".into());
    wrong
        .get_mut("mimamori-recorder")
        .unwrap()
        .push("mimamori-governance".into());
    assert_eq!(upward_dependencies(&wrong).len(), 2);
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Every use of the web crate in a source text that is not its server entry point.
fn web_uses_besides_the_server(text: &str) -> Vec<String> {
    text.match_indices("mimamori_web")
        .map(|(i, _)| &text[i..])
        .filter(|rest| !rest.starts_with("mimamori_web::server::"))
        .map(|rest| rest.lines().next().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn the_binary_takes_only_the_server_from_the_web_crate() {
    let mut files = Vec::new();
    rust_files(&crates_dir().join("mimamori").join("src"), &mut files);
    assert!(files.len() > 5);
    let mut found = Vec::new();
    for f in &files {
        for u in web_uses_besides_the_server(&std::fs::read_to_string(f).unwrap()) {
            found.push(format!("{}: {u}", f.display()));
        }
    }
    assert!(found.is_empty(), "{found:#?}");
    assert!(
        files.iter().any(|f| std::fs::read_to_string(f)
            .unwrap()
            .contains("mimamori_web::server::")),
        "the server is started through its entry point"
    );
    // The check itself sees other uses.
    assert_eq!(
        web_uses_besides_the_server(
            "use mimamori_web::server::Server;\nlet x = mimamori_web::api::validate_camera(b);"
        ),
        vec!["mimamori_web::api::validate_camera(b);".to_string()]
    );
}
