//! Layering: reads every `.rs` file under `src/` and the allowed-directions table in
//! `docs/architecture.md` (between `<!-- layering:begin -->` and `<!-- layering:end -->`),
//! and fails with one message listing every violation:
//!
//! - a file refers to a top-level module its row does not allow (`use crate::x`,
//!   `crate::x::y` in code, grouped `use crate::{x, y::{a, b}}`, `super::x` that leaves the
//!   module, and `porta::x` in `src/main.rs`); comments and string literals are ignored;
//! - a module in `src/` has no row, or a row names a module that does not exist;
//! - a table entry points up (target layer > importer layer) or the table has a cycle;
//! - the real import graph between top-level modules has a cycle;
//! - a store (`src/<m>/store.rs`, `src/<m>/store/…`) mentions actix;
//! - anything but `cli` and `main` imports `app`.
//!
//! Allowed entries that no file uses are printed as notes, never failures.
//!
//! Only std. The crate root is `PORTA_LAYERING_ROOT` when set (to run the compiled test
//! against another tree), else `CARGO_MANIFEST_DIR` at compile time.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

const BEGIN: &str = "<!-- layering:begin -->";
const END: &str = "<!-- layering:end -->";
/// The only modules that may import `app`.
const APP_IMPORTERS: [&str; 2] = ["cli", "main"];

fn manifest_dir() -> PathBuf {
    match std::env::var_os("PORTA_LAYERING_ROOT") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => PathBuf::from(env!("CARGO_MANIFEST_DIR")),
    }
}

#[test]
fn modules_import_only_what_the_architecture_table_allows() {
    let root = manifest_dir();
    let report = check(&root);
    for note in &report.notes {
        eprintln!("layering note: {note}");
    }
    if !report.is_clean() {
        panic!("{}", report.render(&root));
    }
}

// ---------------------------------------------------------------------------------------
// Lexer: identifiers, `::` and punctuation with line numbers; comments, string and char
// literals, lifetimes and numbers never become tokens that the path parser looks at.

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    PathSep,
    Punct(char),
    /// A literal (string, char, number): kept so that `"x"::` can never look like a path.
    Lit,
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    line: usize,
}

fn is_ident_start(c: char) -> bool {
    c == '_' || c.is_alphabetic()
}

fn is_ident_continue(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

fn lex(src: &str) -> Vec<Token> {
    let s: Vec<char> = src.chars().collect();
    let n = s.len();
    let mut out = Vec::new();
    let mut i = 0;
    let mut line = 1;
    let at = |k: usize| -> char {
        if k < n {
            s[k]
        } else {
            '\0'
        }
    };

    // Skips a quoted (escaped) literal whose opening quote is at `i`; returns the index
    // after the closing quote and advances `line`.
    fn skip_quoted(s: &[char], mut i: usize, quote: char, line: &mut usize) -> usize {
        i += 1;
        while i < s.len() {
            match s[i] {
                '\\' => {
                    if i + 1 < s.len() && s[i + 1] == '\n' {
                        *line += 1;
                    }
                    i += 2;
                    continue;
                }
                '\n' => *line += 1,
                c if c == quote => return i + 1,
                _ => {}
            }
            i += 1;
        }
        s.len()
    }

    // Skips a raw string: `i` points at the first `#` or at `"`.
    fn skip_raw(s: &[char], mut i: usize, line: &mut usize) -> usize {
        let mut hashes = 0;
        while i < s.len() && s[i] == '#' {
            hashes += 1;
            i += 1;
        }
        i += 1; // the opening quote
        while i < s.len() {
            if s[i] == '\n' {
                *line += 1;
            }
            if s[i] == '"' && (1..=hashes).all(|k| i + k < s.len() && s[i + k] == '#') {
                return i + 1 + hashes;
            }
            i += 1;
        }
        s.len()
    }

    // Is `i` the start of `#*"` (a raw string body after `r`, `br`, `cr`)?
    fn raw_string_follows(s: &[char], mut i: usize) -> bool {
        while i < s.len() && s[i] == '#' {
            i += 1;
        }
        i < s.len() && s[i] == '"'
    }

    while i < n {
        let c = s[i];
        match c {
            '\n' => {
                line += 1;
                i += 1;
            }
            c if c.is_whitespace() => i += 1,
            '/' if at(i + 1) == '/' => {
                while i < n && s[i] != '\n' {
                    i += 1;
                }
            }
            '/' if at(i + 1) == '*' => {
                let mut depth = 0;
                while i < n {
                    if s[i] == '/' && at(i + 1) == '*' {
                        depth += 1;
                        i += 2;
                    } else if s[i] == '*' && at(i + 1) == '/' {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        if s[i] == '\n' {
                            line += 1;
                        }
                        i += 1;
                    }
                }
            }
            '"' => {
                out.push(Token {
                    tok: Tok::Lit,
                    line,
                });
                i = skip_quoted(&s, i, '"', &mut line);
            }
            '\'' => {
                if at(i + 1) == '\\' {
                    // '\n', '\'', '\u{..}'
                    out.push(Token {
                        tok: Tok::Lit,
                        line,
                    });
                    i = skip_quoted(&s, i, '\'', &mut line);
                } else if at(i + 2) == '\'' {
                    // 'x', '{'
                    out.push(Token {
                        tok: Tok::Lit,
                        line,
                    });
                    if s[i + 1] == '\n' {
                        line += 1;
                    }
                    i += 3;
                } else {
                    // A lifetime or a label: drop the quote, the name lexes as an identifier
                    // that can never be followed by `::`.
                    i += 1;
                    if i < n && is_ident_start(s[i]) {
                        while i < n && is_ident_continue(s[i]) {
                            i += 1;
                        }
                    }
                }
            }
            c if c.is_ascii_digit() => {
                while i < n && is_ident_continue(s[i]) {
                    i += 1;
                }
                out.push(Token {
                    tok: Tok::Lit,
                    line,
                });
            }
            c if is_ident_start(c) => {
                let start = i;
                while i < n && is_ident_continue(s[i]) {
                    i += 1;
                }
                let word: String = s[start..i].iter().collect();
                match (word.as_str(), at(i)) {
                    ("r" | "br" | "cr", '"' | '#') if raw_string_follows(&s, i) => {
                        out.push(Token {
                            tok: Tok::Lit,
                            line,
                        });
                        i = skip_raw(&s, i, &mut line);
                    }
                    ("r", '#') if is_ident_start(at(i + 1)) => {
                        // Raw identifier r#name.
                        i += 1;
                        let start = i;
                        while i < n && is_ident_continue(s[i]) {
                            i += 1;
                        }
                        let name: String = s[start..i].iter().collect();
                        out.push(Token {
                            tok: Tok::Ident(name),
                            line,
                        });
                    }
                    ("b" | "c", '"') => {
                        out.push(Token {
                            tok: Tok::Lit,
                            line,
                        });
                        i = skip_quoted(&s, i, '"', &mut line);
                    }
                    ("b", '\'') => {
                        out.push(Token {
                            tok: Tok::Lit,
                            line,
                        });
                        i = skip_quoted(&s, i, '\'', &mut line);
                    }
                    _ => out.push(Token {
                        tok: Tok::Ident(word),
                        line,
                    }),
                }
            }
            ':' if at(i + 1) == ':' => {
                out.push(Token {
                    tok: Tok::PathSep,
                    line,
                });
                i += 2;
            }
            c => {
                out.push(Token {
                    tok: Tok::Punct(c),
                    line,
                });
                i += 1;
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// Paths: every reference from a file to a top-level module of the crate.

/// Where a file sits: its module path from the crate root (`src/oauth/token.rs` →
/// `["oauth", "token"]`, `src/oauth/mod.rs` → `["oauth"]`, `src/lib.rs` → `[]`), and
/// whether it is the binary root (`src/main.rs`, which reaches the library as `porta::`).
#[derive(Debug, Clone)]
struct FileCtx {
    mod_path: Vec<String>,
    is_main: bool,
}

impl FileCtx {
    fn for_rel_path(rel: &Path) -> FileCtx {
        let parts: Vec<String> = rel
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect::<Vec<_>>();
        // `rel` is relative to src/.
        let mut mod_path: Vec<String> = Vec::new();
        for (k, p) in parts.iter().enumerate() {
            let last = k + 1 == parts.len();
            if !last {
                mod_path.push(p.clone());
                continue;
            }
            let stem = p.strip_suffix(".rs").unwrap_or(p);
            let is_root = parts.len() == 1 && (stem == "lib" || stem == "main");
            if stem != "mod" && !is_root {
                mod_path.push(stem.to_string());
            }
        }
        FileCtx {
            mod_path,
            is_main: parts.len() == 1 && parts[0] == "main.rs",
        }
    }
}

/// The top-level module a file belongs to: the first component under src
/// (`oauth/token.rs` → `oauth`, `config.rs` → `config`, `lib.rs` → `lib`).
fn top_module_of(rel: &Path) -> String {
    let first = rel
        .iter()
        .next()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    first
        .strip_suffix(".rs")
        .map(str::to_string)
        .unwrap_or(first)
}

/// A reference to a top-level module (possibly the file's own) on a line.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct ModRef {
    module: String,
    line: usize,
}

/// Every top-level module a source file refers to, with the line of the reference.
/// `crate::`/`self::`/`super::` paths are resolved against the file's module path and the
/// inline `mod name { … }` blocks around them; in `src/main.rs` only `porta::` counts.
fn references(src: &str, ctx: &FileCtx) -> Vec<ModRef> {
    let toks = lex(src);
    let mut refs = Vec::new();
    // Inline modules: (name, brace depth inside them).
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let mut pending_mod: Option<String> = None;
    let mut i = 0;
    while i < toks.len() {
        match &toks[i].tok {
            Tok::Punct('{') => {
                depth += 1;
                if let Some(name) = pending_mod.take() {
                    inline.push((name, depth));
                }
                i += 1;
                continue;
            }
            Tok::Punct('}') => {
                if inline.last().is_some_and(|(_, d)| *d == depth) {
                    inline.pop();
                }
                depth = depth.saturating_sub(1);
                i += 1;
                continue;
            }
            Tok::Ident(w) if w == "mod" => {
                if let Some(Tok::Ident(name)) = toks.get(i + 1).map(|t| &t.tok) {
                    if toks.get(i + 2).map(|t| &t.tok) == Some(&Tok::Punct('{')) {
                        pending_mod = Some(name.clone());
                    }
                }
                i += 1;
                continue;
            }
            _ => {}
        }
        if is_path_start(&toks, i, ctx) {
            let mut here = ctx.mod_path.clone();
            here.extend(inline.iter().map(|(n, _)| n.clone()));
            i = parse_path(&toks, i, &here, &mut refs);
        } else {
            i += 1;
        }
    }
    refs
}

fn ident_at(toks: &[Token], i: usize) -> Option<&str> {
    match toks.get(i).map(|t| &t.tok) {
        Some(Tok::Ident(w)) => Some(w.as_str()),
        _ => None,
    }
}

fn is_sep(toks: &[Token], i: usize) -> bool {
    matches!(toks.get(i).map(|t| &t.tok), Some(Tok::PathSep))
}

/// Does a path that can leave the file's module start at `i`? Its root must not follow
/// `::` (then it is the middle of another path) and must be followed by `::`.
fn is_path_start(toks: &[Token], i: usize, ctx: &FileCtx) -> bool {
    let Some(word) = ident_at(toks, i) else {
        return false;
    };
    if !is_sep(toks, i + 1) {
        return false;
    }
    let after_sep = i > 0 && is_sep(toks, i - 1);
    if ctx.is_main {
        // `porta::x` or `::porta::x` (but not `a::porta::x`).
        word == "porta"
            && !(after_sep && i >= 2 && matches!(toks[i - 2].tok, Tok::Ident(_) | Tok::Punct('>')))
    } else {
        matches!(word, "crate" | "self" | "super") && !after_sep
    }
}

/// Parses the path starting at `i` (a root: `crate`, `self`, `super` or `porta`), pushes
/// the top-level module(s) it reaches into `refs`, and returns the index to go on from.
fn parse_path(toks: &[Token], i: usize, here: &[String], refs: &mut Vec<ModRef>) -> usize {
    let line = toks[i].line;
    // The absolute module path the prefix names.
    let mut abs: Vec<String> = match ident_at(toks, i) {
        Some("crate") | Some("porta") => Vec::new(),
        Some("self") => here.to_vec(),
        Some("super") => {
            if here.is_empty() {
                return i + 1; // `super` at the crate root: not valid Rust, not ours
            }
            here[..here.len() - 1].to_vec()
        }
        _ => return i + 1,
    };
    let mut j = i + 1;
    // Further `::super` segments.
    while is_sep(toks, j) && ident_at(toks, j + 1) == Some("super") {
        if abs.pop().is_none() {
            return j + 2;
        }
        j += 2;
    }
    if let Some(top) = abs.first() {
        // Still inside some top-level module: that is the one referred to.
        refs.push(ModRef {
            module: top.clone(),
            line,
        });
        return j;
    }
    // At the crate root: the next segment (or each item of a group) is the module.
    if !is_sep(toks, j) {
        return j;
    }
    j += 1;
    match toks.get(j).map(|t| &t.tok) {
        Some(Tok::Ident(name)) => {
            if name != "self" && name != "super" && name != "crate" {
                refs.push(ModRef {
                    module: name.clone(),
                    line: toks[j].line,
                });
            }
            j + 1
        }
        Some(Tok::Punct('{')) => parse_root_group(toks, j, refs),
        _ => j,
    }
}

/// `{ a, b::c, d::{e, f}, self as x, * }` at the crate root, opening brace at `open`:
/// the first segment of each item is a module. Returns the index after the closing brace.
fn parse_root_group(toks: &[Token], open: usize, refs: &mut Vec<ModRef>) -> usize {
    let mut j = open + 1;
    let mut depth = 1;
    let mut item_start = true;
    while j < toks.len() {
        match &toks[j].tok {
            Tok::Punct('{') => depth += 1,
            Tok::Punct('}') => {
                depth -= 1;
                if depth == 0 {
                    return j + 1;
                }
            }
            Tok::Punct(',') if depth == 1 => {
                item_start = true;
                j += 1;
                continue;
            }
            Tok::Ident(name)
                if item_start
                    && depth == 1
                    && !matches!(name.as_str(), "self" | "super" | "crate") =>
            {
                refs.push(ModRef {
                    module: name.clone(),
                    line: toks[j].line,
                });
            }
            _ => {}
        }
        item_start = false;
        j += 1;
    }
    j
}

/// Lines on which a file's code (not comments or strings) mentions actix.
fn actix_mentions(src: &str) -> Vec<usize> {
    let mut lines: Vec<usize> = lex(src)
        .into_iter()
        .filter_map(|t| match t.tok {
            Tok::Ident(w) if w == "actix" || w.starts_with("actix_") => Some(t.line),
            _ => None,
        })
        .collect();
    lines.dedup();
    lines
}

/// `src/<m>/store.rs` or anything under `src/<m>/store/` (`rel` is relative to src).
fn is_store_file(rel: &Path) -> bool {
    let parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    parts.len() >= 2 && (parts[1] == "store.rs" || (parts[1] == "store" && parts.len() >= 3))
}

// ---------------------------------------------------------------------------------------
// The table.

#[derive(Debug, Clone)]
struct Row {
    layer: i64,
    may_import: BTreeSet<String>,
    line: usize,
}

#[derive(Debug, Default)]
struct Table {
    rows: BTreeMap<String, Row>,
    /// Malformed or duplicate rows, as messages.
    errors: Vec<String>,
}

/// A cell of the form `` `name` ``.
fn backticked(cell: &str) -> Option<String> {
    let inner = cell.trim().strip_prefix('`')?.strip_suffix('`')?;
    let ok = !inner.is_empty() && inner.chars().all(is_ident_continue);
    ok.then(|| inner.to_string())
}

/// Parses the table between the markers. `None` when the markers are missing.
fn parse_table(doc: &str) -> Option<Table> {
    let lines: Vec<&str> = doc.lines().collect();
    let begin = lines.iter().position(|l| l.trim() == BEGIN)?;
    let end = begin + lines[begin..].iter().position(|l| l.trim() == END)?;
    let mut table = Table::default();
    for (k, raw) in lines.iter().enumerate().take(end).skip(begin + 1) {
        let line_no = k + 1;
        let l = raw.trim();
        if !l.starts_with('|') {
            continue;
        }
        let cells: Vec<&str> = l.trim_matches('|').split('|').map(str::trim).collect();
        let first = cells.first().copied().unwrap_or("");
        let separator = first.contains('-') && first.chars().all(|c| matches!(c, '-' | ':' | ' '));
        if first == "module" || separator {
            continue; // header or separator
        }
        if cells.len() < 4 {
            table.errors.push(format!(
                "docs/architecture.md:{line_no}: a row needs `| module | layer | may import | job |`: {l}"
            ));
            continue;
        }
        let Some(module) = backticked(cells[0]) else {
            table.errors.push(format!(
                "docs/architecture.md:{line_no}: the module must be one name in backticks, not {:?}",
                cells[0]
            ));
            continue;
        };
        let Ok(layer) = cells[1].parse::<i64>() else {
            table.errors.push(format!(
                "docs/architecture.md:{line_no}: the layer of `{module}` must be a number, not {:?}",
                cells[1]
            ));
            continue;
        };
        let mut may_import = BTreeSet::new();
        let cell = cells[2];
        if !matches!(cell, "—" | "-" | "–") {
            for part in cell.split(',') {
                match backticked(part) {
                    Some(name) => {
                        may_import.insert(name);
                    }
                    None => table.errors.push(format!(
                        "docs/architecture.md:{line_no}: `may import` of `{module}` must list names in backticks \
                         separated by commas (or `—`); cannot read {:?}",
                        part.trim()
                    )),
                }
            }
        }
        if table.rows.contains_key(&module) {
            table.errors.push(format!(
                "docs/architecture.md:{line_no}: `{module}` has two rows"
            ));
            continue;
        }
        table.rows.insert(
            module,
            Row {
                layer,
                may_import,
                line: line_no,
            },
        );
    }
    Some(table)
}

// ---------------------------------------------------------------------------------------
// Graphs.

/// Cycles of a directed graph: for every edge inside a strongly connected component, the
/// shortest cycle through it; each cycle once, rotated to start at its smallest module.
/// Rendered as `a -> b -> c -> a`.
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    let comp = strongly_connected(graph);
    let mut found = BTreeSet::new();
    for (from, tos) in graph {
        for to in tos {
            if from == to || comp.get(from) != comp.get(to) {
                continue;
            }
            // Shortest path to -> from, within the component.
            if let Some(path) = shortest_path(graph, to, from) {
                let mut cycle = vec![from.clone()];
                cycle.extend(path.into_iter().take_while(|m| m != from));
                let k = (0..cycle.len()).min_by_key(|&k| &cycle[k]).unwrap_or(0);
                cycle.rotate_left(k);
                let first = cycle[0].clone();
                cycle.push(first);
                found.insert(cycle.join(" -> "));
            }
        }
    }
    found.into_iter().collect()
}

fn shortest_path(
    graph: &BTreeMap<String, BTreeSet<String>>,
    from: &str,
    to: &str,
) -> Option<Vec<String>> {
    let mut prev: HashMap<String, String> = HashMap::new();
    let mut queue = VecDeque::from([from.to_string()]);
    let mut seen = BTreeSet::from([from.to_string()]);
    while let Some(m) = queue.pop_front() {
        if m == to {
            let mut path = vec![m.clone()];
            let mut cur = m;
            while let Some(p) = prev.get(&cur) {
                path.push(p.clone());
                cur = p.clone();
            }
            path.reverse();
            return Some(path);
        }
        for next in graph.get(&m).into_iter().flatten() {
            if seen.insert(next.clone()) {
                prev.insert(next.clone(), m.clone());
                queue.push_back(next.clone());
            }
        }
    }
    None
}

/// Tarjan: module → component number.
fn strongly_connected(graph: &BTreeMap<String, BTreeSet<String>>) -> HashMap<String, usize> {
    struct S<'g> {
        g: &'g BTreeMap<String, BTreeSet<String>>,
        index: HashMap<&'g str, usize>,
        low: HashMap<&'g str, usize>,
        stack: Vec<&'g str>,
        on_stack: BTreeSet<&'g str>,
        comp: HashMap<String, usize>,
        next: usize,
        comps: usize,
    }
    fn visit<'g>(s: &mut S<'g>, v: &'g str) {
        s.index.insert(v, s.next);
        s.low.insert(v, s.next);
        s.next += 1;
        s.stack.push(v);
        s.on_stack.insert(v);
        let g = s.g;
        for w in g.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !s.index.contains_key(w) {
                visit(s, w);
                let lw = s.low[w];
                let lv = s.low[v];
                s.low.insert(v, lv.min(lw));
            } else if s.on_stack.contains(w) {
                let iw = s.index[w];
                let lv = s.low[v];
                s.low.insert(v, lv.min(iw));
            }
        }
        if s.low[v] == s.index[v] {
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                s.comp.insert(w.to_string(), s.comps);
                if w == v {
                    break;
                }
            }
            s.comps += 1;
        }
    }
    let mut s = S {
        g: graph,
        index: HashMap::new(),
        low: HashMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        comp: HashMap::new(),
        next: 0,
        comps: 0,
    };
    let mut nodes: BTreeSet<&str> = graph.keys().map(String::as_str).collect();
    nodes.extend(graph.values().flatten().map(String::as_str));
    for v in nodes {
        if !s.index.contains_key(v) {
            visit(&mut s, v);
        }
    }
    s.comp
}

// ---------------------------------------------------------------------------------------
// The check.

/// One file's reference to another top-level module (all lines of it).
#[derive(Debug, Clone)]
struct Use {
    file: String,
    from: String,
    to: String,
    lines: Vec<usize>,
}

#[derive(Debug, Default)]
struct Report {
    /// Rule title → violations, in the order the rules are listed.
    sections: Vec<(&'static str, Vec<String>)>,
    notes: Vec<String>,
}

impl Report {
    fn add(&mut self, rule: &'static str, msg: String) {
        match self.sections.iter_mut().find(|(r, _)| *r == rule) {
            Some((_, v)) => v.push(msg),
            None => self.sections.push((rule, vec![msg])),
        }
    }

    fn count(&self) -> usize {
        self.sections.iter().map(|(_, v)| v.len()).sum()
    }

    fn is_clean(&self) -> bool {
        self.count() == 0
    }

    fn render(&self, root: &Path) -> String {
        let mut out = format!(
            "\nlayering: {} violation(s) in {} (table: docs/architecture.md between `{BEGIN}` and `{END}`)\n",
            self.count(),
            root.display()
        );
        for (rule, msgs) in &self.sections {
            let _ = writeln!(out, "\n[{rule}] {} violation(s)", msgs.len());
            for m in msgs {
                let _ = writeln!(out, "  {m}");
            }
        }
        out
    }
}

const R_TABLE: &str =
    "table rows: every module in src/ has exactly one well-formed row, every row a module";
const R_IMPORT: &str = "imports: a file refers to a module its row does not allow";
const R_DIRECTION: &str = "table direction: an allowed target must not be in a higher layer";
const R_TABLE_CYCLE: &str = "table cycle: the allowed directions must not form a cycle";
const R_IMPORT_CYCLE: &str =
    "import cycle: top-level modules must not import each other in a cycle";
const R_STORE: &str = "stores never import actix";
const R_APP: &str = "only cli and main import app";

fn rs_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rs_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

fn check(root: &Path) -> Report {
    let mut report = Report::default();
    let src = root.join("src");
    let mut files = Vec::new();
    rs_files(&src, &mut files);
    if files.is_empty() {
        report.add(R_TABLE, format!("no .rs files under {}", src.display()));
        return report;
    }

    // Modules, references and store files.
    let rels: Vec<PathBuf> = files
        .iter()
        .map(|f| f.strip_prefix(&src).unwrap_or(f).to_path_buf())
        .collect();
    let modules: BTreeSet<String> = rels.iter().map(|r| top_module_of(r)).collect();
    let mut uses: Vec<Use> = Vec::new();
    for (path, rel) in files.iter().zip(&rels) {
        let shown = format!("src/{}", rel.to_string_lossy().replace('\\', "/"));
        let Ok(text) = fs::read_to_string(path) else {
            report.add(R_TABLE, format!("{shown}: cannot be read"));
            continue;
        };
        let from = top_module_of(rel);
        let ctx = FileCtx::for_rel_path(rel);
        let mut by_target: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for r in references(&text, &ctx) {
            if r.module != from && modules.contains(&r.module) {
                by_target.entry(r.module).or_default().push(r.line);
            }
        }
        for (to, mut lines) in by_target {
            lines.sort_unstable();
            lines.dedup();
            uses.push(Use {
                file: shown.clone(),
                from: from.clone(),
                to,
                lines,
            });
        }
        if is_store_file(rel) {
            let lines = actix_mentions(&text);
            if !lines.is_empty() {
                report.add(
                    R_STORE,
                    format!("{shown}: mentions actix on line(s) {}", join_lines(&lines)),
                );
            }
        }
    }

    // The table.
    let doc_path = root.join("docs/architecture.md");
    let table = fs::read_to_string(&doc_path)
        .ok()
        .and_then(|d| parse_table(&d));
    let Some(table) = table else {
        report.add(
            R_TABLE,
            format!(
                "{} has no table between `{BEGIN}` and `{END}`",
                doc_path.display()
            ),
        );
        import_cycles(&uses, &mut report);
        app_importers(&uses, None, &mut report);
        return report;
    };
    for e in &table.errors {
        report.add(R_TABLE, e.clone());
    }
    for m in &modules {
        if !table.rows.contains_key(m) {
            report.add(R_TABLE, format!("`{m}` is a module in src/ but has no row"));
        }
    }
    for (m, row) in &table.rows {
        if !modules.contains(m) {
            report.add(
                R_TABLE,
                format!(
                    "docs/architecture.md:{}: row `{m}` names a module that does not exist in src/",
                    row.line
                ),
            );
        }
        for t in &row.may_import {
            if t == m {
                report.add(
                    R_TABLE,
                    format!("docs/architecture.md:{}: `{m}` lists itself", row.line),
                );
            } else if !table.rows.contains_key(t) {
                report.add(
                    R_TABLE,
                    format!(
                        "docs/architecture.md:{}: `{m}` may import `{t}`, which has no row",
                        row.line
                    ),
                );
            }
        }
    }

    // Table direction and cycles.
    let mut allowed: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (m, row) in &table.rows {
        for t in &row.may_import {
            if t == m {
                continue;
            }
            if let Some(target) = table.rows.get(t) {
                if target.layer > row.layer {
                    report.add(
                        R_DIRECTION,
                        format!(
                            "docs/architecture.md:{}: `{m}` (layer {}) may import `{t}` (layer {})",
                            row.line, row.layer, target.layer
                        ),
                    );
                }
            }
            allowed.entry(m.clone()).or_default().insert(t.clone());
        }
    }
    for c in cycles(&allowed) {
        report.add(R_TABLE_CYCLE, c);
    }

    // Imports against the table.
    let mut used: BTreeSet<(String, String)> = BTreeSet::new();
    for u in &uses {
        used.insert((u.from.clone(), u.to.clone()));
        let Some(row) = table.rows.get(&u.from) else {
            continue;
        }; // reported: no row
        if !row.may_import.contains(&u.to) {
            report.add(
                R_IMPORT,
                format!(
                    "{}:{}: `{}` imports `{}` (line(s) {})",
                    u.file,
                    u.lines[0],
                    u.from,
                    u.to,
                    join_lines(&u.lines)
                ),
            );
        }
    }
    import_cycles(&uses, &mut report);
    app_importers(&uses, Some(&table), &mut report);

    // Notes: allowances nobody uses.
    for (m, row) in &table.rows {
        if !modules.contains(m) {
            continue;
        }
        let unused: Vec<&str> = row
            .may_import
            .iter()
            .filter(|t| !used.contains(&(m.clone(), (*t).clone())))
            .map(String::as_str)
            .collect();
        if !unused.is_empty() {
            report.notes.push(format!(
                "`{m}` may import but does not: {}",
                unused.join(", ")
            ));
        }
    }
    report
}

fn join_lines(lines: &[usize]) -> String {
    lines
        .iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn import_cycles(uses: &[Use], report: &mut Report) {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut evidence: BTreeMap<(String, String), String> = BTreeMap::new();
    for u in uses {
        graph
            .entry(u.from.clone())
            .or_default()
            .insert(u.to.clone());
        evidence
            .entry((u.from.clone(), u.to.clone()))
            .or_insert_with(|| format!("{}:{}", u.file, u.lines[0]));
    }
    for c in cycles(&graph) {
        let hops: Vec<&str> = c.split(" -> ").collect();
        let proof: Vec<String> = hops
            .windows(2)
            .map(|w| {
                evidence
                    .get(&(w[0].to_string(), w[1].to_string()))
                    .cloned()
                    .unwrap_or_default()
            })
            .collect();
        report.add(R_IMPORT_CYCLE, format!("{c}   ({})", proof.join("; ")));
    }
}

fn app_importers(uses: &[Use], table: Option<&Table>, report: &mut Report) {
    for u in uses {
        if u.to == "app" && !APP_IMPORTERS.contains(&u.from.as_str()) {
            report.add(
                R_APP,
                format!(
                    "{}:{}: `{}` imports `app` (line(s) {})",
                    u.file,
                    u.lines[0],
                    u.from,
                    join_lines(&u.lines)
                ),
            );
        }
    }
    for (m, row) in table.map(|t| &t.rows).into_iter().flatten() {
        if row.may_import.contains("app") && !APP_IMPORTERS.contains(&m.as_str()) {
            report.add(
                R_APP,
                format!(
                    "docs/architecture.md:{}: the table lets `{m}` import `app`",
                    row.line
                ),
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// Tests of the parser and the checks themselves.

fn ctx(rel: &str) -> FileCtx {
    FileCtx::for_rel_path(Path::new(rel))
}

/// (module, line) pairs of a snippet as if it were `rel`, own module included.
fn refs_of(rel: &str, src: &str) -> Vec<(String, usize)> {
    references(src, &ctx(rel))
        .into_iter()
        .map(|r| (r.module, r.line))
        .collect()
}

fn mods_of(rel: &str, src: &str) -> Vec<String> {
    let own = top_module_of(Path::new(rel));
    let mut v: Vec<String> = references(src, &ctx(rel))
        .into_iter()
        .map(|r| r.module)
        .filter(|m| *m != own)
        .collect();
    v.sort();
    v.dedup();
    v
}

#[test]
fn layering_parser_top_module_and_module_path() {
    assert_eq!(top_module_of(Path::new("oauth/token.rs")), "oauth");
    assert_eq!(top_module_of(Path::new("config.rs")), "config");
    assert_eq!(top_module_of(Path::new("lib.rs")), "lib");
    assert_eq!(top_module_of(Path::new("main.rs")), "main");
    assert_eq!(
        top_module_of(Path::new("bookings/store/hours.rs")),
        "bookings"
    );
    assert_eq!(ctx("oauth/token.rs").mod_path, ["oauth", "token"]);
    assert_eq!(ctx("oauth/mod.rs").mod_path, ["oauth"]);
    assert_eq!(ctx("config.rs").mod_path, ["config"]);
    assert!(ctx("lib.rs").mod_path.is_empty());
    assert!(ctx("main.rs").is_main && !ctx("lib.rs").is_main);
    assert!(is_store_file(Path::new("oauth/store.rs")));
    assert!(is_store_file(Path::new("bookings/store/mod.rs")));
    assert!(is_store_file(Path::new("bookings/store/hours.rs")));
    assert!(!is_store_file(Path::new("store.rs")));
    assert!(!is_store_file(Path::new("oauth/storefront.rs")));
    assert!(!is_store_file(Path::new("oauth/x/store.rs")));
}

#[test]
fn layering_parser_simple_use_and_lines() {
    let src = "use crate::db::{self, DbPool};\n\nuse crate::web::AppState;\npub use crate::keys::KeyRing;\n";
    assert_eq!(
        refs_of("oauth/token.rs", src),
        [
            ("db".to_string(), 1),
            ("web".to_string(), 3),
            ("keys".to_string(), 4)
        ]
    );
}

#[test]
fn layering_parser_multi_line_grouped_use() {
    let src = "use crate::{\n    accounts,\n    db::{self, DbError},\n    web::AppState,\n};\nfn f() {}\n";
    assert_eq!(
        refs_of("otp/mod.rs", src),
        [
            ("accounts".to_string(), 2),
            ("db".to_string(), 3),
            ("web".to_string(), 4)
        ]
    );
}

#[test]
fn layering_parser_nested_groups() {
    let src = "pub use crate::{x, y::z, w::{a, b::{c, d}}, v::{self}, *};";
    assert_eq!(mods_of("m/mod.rs", src), ["v", "w", "x", "y"]);
    // Names inside the nested groups are not modules of the crate root.
    assert!(!mods_of("m/mod.rs", src).contains(&"a".to_string()));
    assert!(!mods_of("m/mod.rs", src).contains(&"c".to_string()));
}

#[test]
fn layering_parser_crate_path_inside_expressions() {
    let src = "fn f() -> i64 {\n    let t = crate::time::now() + 1;\n    g(&crate::config::Settings::default(), crate :: crypto\n ::random())\n}\n";
    assert_eq!(
        refs_of("otp/mod.rs", src),
        [
            ("time".to_string(), 2),
            ("config".to_string(), 3),
            ("crypto".to_string(), 3)
        ]
    );
    // Generic and qualified positions.
    assert_eq!(
        mods_of(
            "a.rs",
            "let v: Vec<crate::b::T> = <crate::c::U as X>::new();"
        ),
        ["b", "c"]
    );
    // `$crate` in a macro is the crate root too.
    assert_eq!(
        mods_of("a.rs", "macro_rules! m { () => { $crate::web::x() } }"),
        ["web"]
    );
}

#[test]
fn layering_parser_ignores_comments() {
    let src = "// use crate::web;\n/// See [`crate::app::prepare`].\n//! crate::cli runs this\n/* crate::db /* nested crate::keys */ still crate::notify */\nfn f() {} // crate::audit\nuse crate::time; /* crate::ops */\n";
    assert_eq!(refs_of("otp/mod.rs", src), [("time".to_string(), 6)]);
}

#[test]
fn layering_parser_ignores_string_and_char_literals() {
    let src = r####"
        const A: &str = "crate::web::x";
        const B: &str = "escaped \" crate::db \\";
        const C: &str = r#"raw "crate::keys" here"#;
        const D: &[u8] = b"crate::audit";
        const E: &[u8] = br##"crate::cli"##;
        const F: char = '"';
        const G: char = '{';
        tracing::info!(target: "porta::audit", "{}", 1);
        fn h<'a>(x: &'a str) -> &'a str { 'outer: loop { break 'outer; } x }
        const I: &str = "multi
            line crate::ops";
        use crate::time;
    "####;
    assert_eq!(refs_of("otp/mod.rs", src), [("time".to_string(), 13)]);
    // A string with `porta::` in main.rs is not a path either.
    assert!(refs_of("main.rs", "let s = \"porta::app\"; // porta::db").is_empty());
}

#[test]
fn layering_parser_self_as_alias_is_no_reference() {
    assert!(mods_of("oauth/mod.rs", "use crate::{self as c};").is_empty());
    assert!(mods_of("oauth/mod.rs", "use crate::{self as c, self};").is_empty());
    // ...but what follows it in the group still counts.
    assert_eq!(
        mods_of("oauth/mod.rs", "use crate::{self as c, web};"),
        ["web"]
    );
}

#[test]
fn layering_parser_crate_path_at_end_of_line_and_file() {
    assert_eq!(
        refs_of("otp/mod.rs", "type S = crate::config\n    ::Settings;\n"),
        [("config".to_string(), 1)]
    );
    assert_eq!(
        refs_of("otp/mod.rs", "let f = crate::web::\nrender;"),
        [("web".to_string(), 1)]
    );
    assert_eq!(
        refs_of("otp/mod.rs", "type D = crate::db"),
        [("db".to_string(), 1)]
    );
    // `crate::` alone at the very end (unfinished code) is no reference and no panic.
    assert!(refs_of("otp/mod.rs", "type D = crate::").is_empty());
}

#[test]
fn layering_parser_visibility_is_not_a_path() {
    assert!(mods_of(
        "a/b.rs",
        "pub(crate) fn f() {}\npub(super) struct S;\npub(self) type T = u8;"
    )
    .is_empty());
}

#[test]
fn layering_parser_super_resolves_against_the_file() {
    // In a depth-1 mod.rs and in src/x.rs, `super` is the crate root.
    assert_eq!(
        mods_of("oauth/mod.rs", "use super::web::AppState;"),
        ["web"]
    );
    assert_eq!(
        mods_of("config.rs", "use super::throttle::Policy;"),
        ["throttle"]
    );
    assert_eq!(
        mods_of("config.rs", "use super::{crypto, db::DbPool};"),
        ["crypto", "db"]
    );
    // In a depth-2 file `super` is its own module; `super::super` is the root.
    assert!(mods_of(
        "oauth/token.rs",
        "use super::store;\nuse super::{params, error::E};\nsuper::x::y();"
    )
    .is_empty());
    assert_eq!(
        mods_of("oauth/token.rs", "use super::super::sessions::Session;"),
        ["sessions"]
    );
    assert!(mods_of("bookings/store/hours.rs", "use super::super::hours;").is_empty());
    assert_eq!(
        mods_of(
            "bookings/store/hours.rs",
            "use super::super::super::resource::Caller;"
        ),
        ["resource"]
    );
    // `self::` stays inside; at the root of lib.rs it names a module.
    assert!(mods_of("oauth/mod.rs", "use self::token::x;").is_empty());
    assert_eq!(mods_of("lib.rs", "pub use self::web::AppState;"), ["web"]);
    // Too many supers (invalid Rust) is ignored, not a panic.
    assert!(mods_of("config.rs", "use super::super::x;").is_empty());
}

#[test]
fn layering_parser_inline_modules_shift_super() {
    let src = "fn f() { let c = '}'; }\n#[cfg(test)]\nmod tests {\n    use super::*;\n    mod deeper {\n        use super::super::Policy;\n    }\n    fn g() { if true { } }\n}\nuse super::db;\n";
    // In src/throttle.rs: `tests` and `deeper` stay inside throttle; the last line leaves it.
    assert_eq!(
        refs_of("throttle.rs", src),
        [
            ("throttle".to_string(), 4),
            ("throttle".to_string(), 6),
            ("db".to_string(), 10)
        ]
    );
    // In an inline module of src/x.rs, `super::super::y` reaches the root.
    assert_eq!(mods_of("x.rs", "mod inner { use super::super::y; }"), ["y"]);
}

#[test]
fn layering_parser_main_uses_porta_paths() {
    let src = "use porta::cli::Cli;\nfn main() {\n    let c = porta::cli::Cli::parse();\n    ::porta::app::x();\n    use crate::cli;\n    other::porta::db::x();\n}\n";
    assert_eq!(
        refs_of("main.rs", src),
        [
            ("cli".to_string(), 1),
            ("cli".to_string(), 3),
            ("app".to_string(), 4)
        ]
    );
    assert_eq!(
        mods_of("main.rs", "use porta::{cli, config::{self, Settings}};"),
        ["cli", "config"]
    );
    // Outside main.rs, `porta::` is not the crate.
    assert!(mods_of("web/mod.rs", "porta::app::x();").is_empty());
}

#[test]
fn layering_parser_raw_identifiers_and_numbers() {
    assert_eq!(
        mods_of(
            "a.rs",
            "let r#type = 1.5e3; let x = 0x_ff; crate::r#b::c();"
        ),
        ["b"]
    );
}

#[test]
fn layering_actix_mentions_ignore_comments_and_strings() {
    let src = "// actix_web is not used here\nconst S: &str = \"actix\";\nuse diesel::prelude::*;\nfn f() -> actix_web::HttpResponse { todo!() }\n";
    assert_eq!(actix_mentions(src), [4]);
    assert!(actix_mentions("use crate::db::DbConn; // no actix").is_empty());
}

#[test]
fn layering_table_parsing() {
    let doc = "intro\n<!-- layering:begin -->\n| module | layer | may import | job |\n| --- | --- | --- | --- |\n| `web` | 2 | `db`, `crypto` | toolkit, with a | in the job |\n| `db` | 1 | — | pool |\n| `bad` | x | — | |\n| `oops` | 1 | db | |\n| `db` | 1 | — | again |\n<!-- layering:end -->\n| `after` | 1 | — | ignored |\n";
    let t = parse_table(doc).expect("markers");
    assert_eq!(t.rows.keys().collect::<Vec<_>>(), ["db", "oops", "web"]);
    assert_eq!(t.rows["web"].layer, 2);
    assert_eq!(
        t.rows["web"].may_import.iter().collect::<Vec<_>>(),
        ["crypto", "db"]
    );
    assert!(t.rows["db"].may_import.is_empty());
    assert_eq!(t.errors.len(), 3, "{:?}", t.errors); // bad layer, unquoted name, duplicate
    assert!(parse_table("no markers").is_none());
}

#[test]
fn layering_cycles_are_reported_as_paths() {
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut edge = |a: &str, b: &str| {
        g.entry(a.to_string()).or_default().insert(b.to_string());
    };
    edge("b", "c");
    edge("c", "a");
    edge("a", "b");
    edge("a", "d");
    edge("x", "y");
    edge("y", "x");
    assert_eq!(cycles(&g), ["a -> b -> c -> a", "x -> y -> x"]);
    let mut acyclic: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    acyclic.entry("a".into()).or_default().insert("b".into());
    acyclic.entry("b".into()).or_default().insert("c".into());
    acyclic.entry("a".into()).or_default().insert("c".into());
    assert!(cycles(&acyclic).is_empty());
}

/// The whole check on a small tree: each rule fires, and a clean tree passes.
#[test]
fn layering_check_on_a_synthetic_tree() {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let root = std::env::temp_dir().join(format!("porta-layering-{}-{nanos}", std::process::id()));
    let write = |rel: &str, text: &str| {
        let p = root.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, text).unwrap();
    };
    write(
        "src/lib.rs",
        "pub mod app; pub mod db; pub mod web; pub mod oauth;\n",
    );
    write("src/main.rs", "fn main() { porta::app::run(); }\n");
    write("src/app.rs", "use crate::{oauth, web};\n");
    write("src/db/mod.rs", "pub fn run() {}\n");
    write("src/web/mod.rs", "use crate::db;\n");
    write("src/oauth/mod.rs", "pub mod store;\nuse super::web::x;\n");
    write("src/oauth/store.rs", "use super::super::db::run;\n");
    let table = |rows: &str| {
        format!("# A\n{BEGIN}\n| module | layer | may import | job |\n| --- | --- | --- | --- |\n{rows}{END}\n")
    };
    let good = "| `main` | 9 | `app` | |\n| `lib` | 10 | — | |\n| `app` | 7 | `oauth`, `web`, `db` | |\n| `oauth` | 6 | `web`, `db` | |\n| `web` | 2 | `db` | |\n| `db` | 1 | — | |\n";
    write("docs/architecture.md", &table(good));
    let r = check(&root);
    assert!(r.is_clean(), "{}", r.render(&root));
    assert_eq!(r.notes, ["`app` may import but does not: db"]);

    // Break every rule at once.
    write("src/db/mod.rs", "pub fn run() { crate::web::x(); }\n");
    write(
        "src/oauth/store.rs",
        "use super::super::db::run;\nfn f(r: actix_web::HttpRequest) {}\n",
    );
    write(
        "src/web/mod.rs",
        "use crate::db;\nfn f() { crate::app::x(); }\n",
    );
    write("src/extra.rs", "\n");
    let bad = "| `main` | 9 | `app` | |\n| `lib` | 10 | — | |\n| `app` | 7 | `oauth`, `web`, `db` | |\n| `oauth` | 6 | `web`, `db`, `app` | |\n| `web` | 2 | `db`, `ghost` | |\n| `db` | 1 | `web` | |\n| `ghost` | 1 | — | |\n";
    write("docs/architecture.md", &table(bad));
    let r = check(&root);
    let text = r.render(&root);
    let _ = fs::remove_dir_all(&root);
    let rule = |name: &str| {
        r.sections
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    assert_eq!(rule(R_TABLE).len(), 2, "{text}"); // extra has no row; ghost does not exist
    assert!(
        text.contains("`extra` is a module in src/ but has no row"),
        "{text}"
    );
    assert!(
        text.contains("row `ghost` names a module that does not exist"),
        "{text}"
    );
    assert_eq!(rule(R_IMPORT).len(), 1, "{text}"); // web -> app (db -> web is allowed by the bad table)
    assert!(
        text.contains("src/web/mod.rs:2: `web` imports `app`"),
        "{text}"
    );
    assert_eq!(rule(R_DIRECTION).len(), 2, "{text}"); // oauth -> app, db -> web
    assert!(
        rule(R_TABLE_CYCLE).contains(&"db -> web -> db".to_string()),
        "{text}"
    );
    assert!(
        rule(R_IMPORT_CYCLE)
            .iter()
            .any(|c| c.starts_with("db -> web -> db")),
        "{text}"
    );
    assert!(
        rule(R_IMPORT_CYCLE)
            .iter()
            .any(|c| c.starts_with("app -> web -> app")),
        "{text}"
    );
    assert_eq!(
        rule(R_STORE),
        ["src/oauth/store.rs: mentions actix on line(s) 2"],
        "{text}"
    );
    assert_eq!(rule(R_APP).len(), 2, "{text}"); // web imports app; the table lets oauth import app
}
