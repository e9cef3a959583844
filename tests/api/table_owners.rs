//! Each domain owns its tables: a file may name a table of `db::schema` only when the
//! table belongs to the file's own top-level module. Owners are the table in
//! docs/architecture.md between `<!-- tables:begin -->` and `<!-- tables:end -->`; every
//! table that `src/db/schema.rs` declares must have exactly one owner there.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const BEGIN: &str = "<!-- tables:begin -->";
const END: &str = "<!-- tables:end -->";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// table → owning module, and module → tables it also reads in a join, from the
/// architecture document.
fn owners(doc: &str) -> (BTreeMap<String, String>, BTreeMap<String, Vec<String>>) {
    let start = doc.find(BEGIN).expect("tables:begin marker") + BEGIN.len();
    let end = doc[start..].find(END).expect("tables:end marker") + start;
    let mut owners = BTreeMap::new();
    let mut reads = BTreeMap::new();
    for line in doc[start..end].lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        let module = cells[0].trim_matches('`').to_string();
        for table in cells[1].split(',').map(|t| t.trim().trim_matches('`')) {
            let previous = owners.insert(table.to_string(), module.clone());
            assert!(previous.is_none(), "table {table} has two owners");
        }
        let also: Vec<String> = cells
            .get(2)
            .map(|c| {
                c.split(',')
                    .map(|t| t.trim().trim_matches('`').to_string())
                    .filter(|t| !t.is_empty() && t != "—")
                    .collect()
            })
            .unwrap_or_default();
        reads.insert(module, also);
    }
    (owners, reads)
}

/// The tables `db/schema.rs` declares (`diesel::table! { name (key) {`).
fn declared(schema: &str) -> Vec<String> {
    let mut tables = Vec::new();
    let mut lines = schema.lines();
    while let Some(line) = lines.next() {
        if line.trim_start().starts_with("diesel::table!") {
            let next = lines.next().unwrap_or("");
            if let Some(name) = next.split_whitespace().next() {
                tables.push(name.to_string());
            }
        }
    }
    tables
}

/// The tables a source file names through `schema::` (`schema::t`, `schema::{a as x, b}`).
fn named_tables(src: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (n, line) in src.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(at) = rest.find("schema::") {
            rest = &rest[at + "schema::".len()..];
            let names: Vec<&str> = if let Some(group) = rest.strip_prefix('{') {
                let close = group.find('}').unwrap_or(group.len());
                group[..close].split(',').collect()
            } else {
                vec![rest]
            };
            for name in names {
                let ident: String = name
                    .trim()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !ident.is_empty() {
                    out.push((n + 1, ident));
                }
            }
        }
    }
    out
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn each_table_is_named_only_by_the_module_that_owns_it() {
    let root = root();
    let doc = std::fs::read_to_string(root.join("docs/architecture.md")).expect("architecture.md");
    let (owners, reads) = owners(&doc);
    let schema = std::fs::read_to_string(root.join("src/db/schema.rs")).expect("schema.rs");
    let mut problems = Vec::new();
    for table in declared(&schema) {
        if !owners.contains_key(&table) {
            problems.push(format!("table `{table}` has no owner in the tables list"));
        }
    }
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    files.sort();
    for file in files {
        let rel = file.strip_prefix(&root).expect("under root");
        let module = rel
            .components()
            .nth(1)
            .map(|c| {
                c.as_os_str()
                    .to_string_lossy()
                    .trim_end_matches(".rs")
                    .to_string()
            })
            .unwrap_or_default();
        if module == "db" {
            continue;
        }
        let src = std::fs::read_to_string(&file).expect("source");
        for (line, table) in named_tables(&src) {
            match owners.get(&table) {
                Some(owner) if *owner == module => {}
                Some(_) if reads.get(&module).is_some_and(|r| r.contains(&table)) => {}
                Some(owner) => problems.push(format!(
                    "{}:{line}: `{module}` names table `{table}`, which `{owner}` owns",
                    rel.display()
                )),
                None => problems.push(format!(
                    "{}:{line}: `{module}` names `{table}`, which is not in the tables list",
                    rel.display()
                )),
            }
        }
    }
    assert!(
        problems.is_empty(),
        "table ownership:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_table_reader_sees_grouped_and_plain_names_and_skips_comments() {
    let src = "use crate::db::schema::{users as u, account_roles};\n\
               // crate::db::schema::clients in a comment\n\
               diesel::delete(crate::db::schema::clients::table)\n";
    let found: Vec<String> = named_tables(src).into_iter().map(|(_, t)| t).collect();
    assert_eq!(found, ["users", "account_roles", "clients"]);
    let schema = "diesel::table! {\n    users (id) {\n        id -> Text,\n    }\n}\n";
    assert_eq!(declared(schema), ["users"]);
}
