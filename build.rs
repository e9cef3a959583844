//! Embeds the message catalogues: every `locales/<language>/*.ftl` file becomes part of the
//! binary, so adding a language is adding a folder of files.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=locales");
    pack_relative_relocations();
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

/// Links the binary with packed relative relocations (`DT_RELR`) where the C library can
/// load them (glibc 2.36 and later). A position-independent executable carries one
/// relocation per pointer in its read-only data (about 120,000 here); as 24-byte entries
/// they make a 2.8 MiB table the loader reads, and keeps resident, at every start. Packed,
/// the table is a few kilobytes. Older C libraries get the classic table, and so does a
/// build with `PORTA_PACK_RELOCATIONS=0` (for a binary that must run on an older glibc
/// than the build machine's).
fn pack_relative_relocations() {
    println!("cargo:rerun-if-env-changed=PORTA_PACK_RELOCATIONS");
    let target = std::env::var("TARGET").unwrap_or_default();
    let host = std::env::var("HOST").unwrap_or_default();
    let wanted = std::env::var("PORTA_PACK_RELOCATIONS").as_deref() != Ok("0");
    if !wanted || !target.ends_with("-linux-gnu") || target != host {
        return;
    }
    // `getconf GNU_LIBC_VERSION` prints e.g. "glibc 2.36".
    let version = std::process::Command::new("getconf")
        .arg("GNU_LIBC_VERSION")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .unwrap_or_default();
    let mut numbers = version
        .trim()
        .trim_start_matches("glibc ")
        .split('.')
        .map(|n| n.parse::<u32>().unwrap_or(0));
    let (major, minor) = (numbers.next().unwrap_or(0), numbers.next().unwrap_or(0));
    if (major, minor) >= (2, 36) {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}
