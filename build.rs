//! Embeds the message catalogues: every `locales/<language>/*.ftl` file becomes part of the
//! binary, so adding a language is adding a folder of files.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=locales");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("locales");
    let mut entries = Vec::new();
    let mut languages: Vec<_> = std::fs::read_dir(&root)
        .expect("locales/ is readable")
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .collect();
    languages.sort_by_key(|e| e.file_name());
    for language in languages {
        let tag = language.file_name().to_string_lossy().into_owned();
        let mut files: Vec<_> = std::fs::read_dir(language.path())
            .expect("a language folder is readable")
            .filter_map(Result::ok)
            .filter(|e| e.path().extension().is_some_and(|x| x == "ftl"))
            .collect();
        files.sort_by_key(|e| e.file_name());
        for file in files {
            entries.push((
                tag.clone(),
                file.file_name().to_string_lossy().into_owned(),
                file.path().display().to_string(),
            ));
        }
    }
    let mut out = String::from("/// (language, file, text) of every catalogue file.\npub static SOURCES: &[(&str, &str, &str)] = &[\n");
    for (tag, name, path) in entries {
        writeln!(out, "    ({tag:?}, {name:?}, include_str!({path:?})),").expect("string write");
    }
    out.push_str("];\n");
    let dest = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("catalogues.rs");
    std::fs::write(dest, out).expect("OUT_DIR is writable");
}
