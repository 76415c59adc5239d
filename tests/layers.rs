//! The crate's files form layers: no file reaches, through its `crate::`/`super::`/`self::`/child
//! module paths, back to itself. A cycle between files means neither can be understood, tested or
//! moved without the other; this test names the files of any cycle so that it is broken where it
//! appears instead of growing.
//!
//! The scan is textual (no parser dependency): comments, strings and char literals are blanked,
//! then every path that starts with `crate`, `super`, `self` or a child module declared with
//! `mod x;` is resolved to the file that defines the longest matching module prefix.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A module path (`["suite", "model"]`) for every file under `src/` that belongs to the library.
fn modules(src: &Path) -> BTreeMap<Vec<String>, PathBuf> {
    let mut out = BTreeMap::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read src dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel = path.strip_prefix(src).expect("under src");
            let mut parts: Vec<String> = rel
                .iter()
                .map(|p| p.to_string_lossy().into_owned())
                .collect();
            let file = parts.pop().expect("file name");
            match file.as_str() {
                // The binary reaches the library by its crate name, never by `crate::`.
                "main.rs" if parts.is_empty() => continue,
                "lib.rs" if parts.is_empty() => {}
                "mod.rs" => {}
                _ => parts.push(file.trim_end_matches(".rs").to_string()),
            }
            out.insert(parts, path);
        }
    }
    out
}

/// The source with comments, string and char literal contents replaced by spaces, so that only
/// code is scanned.
fn code_only(text: &str) -> String {
    let b: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < b.len() && b[i] != '\n' {
                i += 1;
            }
            continue;
        }
        if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == '/' && b.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if b[i] == '*' && b.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            out.push(' ');
            continue;
        }
        // Raw strings: r"..", r#".."#, br#".."#.
        if (c == 'r' || (c == 'b' && next == Some('r')))
            && (i == 0 || !(b[i - 1].is_alphanumeric() || b[i - 1] == '_'))
        {
            let mut j = if c == 'b' { i + 2 } else { i + 1 };
            let mut hashes = 0;
            while b.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if b.get(j) == Some(&'"') {
                j += 1;
                'raw: while j < b.len() {
                    if b[j] == '"' && (0..hashes).all(|k| b.get(j + 1 + k) == Some(&'#')) {
                        j += 1 + hashes;
                        break 'raw;
                    }
                    j += 1;
                }
                out.push_str("\"\"");
                i = j;
                continue;
            }
        }
        if c == '"' {
            i += 1;
            while i < b.len() && b[i] != '"' {
                if b[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            out.push_str("\"\"");
            continue;
        }
        if c == '\'' {
            // A char literal ('x', '\n', '\u{..}'), not a lifetime ('a).
            if next == Some('\\') {
                let mut j = i + 2;
                while j < b.len() && b[j] != '\'' {
                    j += 1;
                }
                i = j + 1;
                out.push_str("' '");
                continue;
            }
            if b.get(i + 2) == Some(&'\'') {
                i += 3;
                out.push_str("' '");
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
    out
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Path, // ::
    Open,
    Close,
    Comma,
    Star,
    Other,
}

fn tokens(code: &str) -> Vec<Tok> {
    let b: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < b.len() && (b[i].is_alphanumeric() || b[i] == '_') {
                i += 1;
            }
            out.push(Tok::Ident(b[start..i].iter().collect()));
            continue;
        }
        if c == ':' && b.get(i + 1) == Some(&':') {
            out.push(Tok::Path);
            i += 2;
            continue;
        }
        if !c.is_whitespace() {
            out.push(match c {
                '{' => Tok::Open,
                '}' => Tok::Close,
                ',' => Tok::Comma,
                '*' => Tok::Star,
                _ => Tok::Other,
            });
        }
        i += 1;
    }
    out
}

/// Expands a path starting at `toks[i]` (an identifier) into the full paths it names, following
/// `use` groups (`a::{b::C, d}`). Returns the paths and the index after the path.
fn read_path(toks: &[Tok], mut i: usize, prefix: Vec<String>, out: &mut Vec<Vec<String>>) -> usize {
    let mut path = prefix;
    loop {
        match toks.get(i) {
            Some(Tok::Ident(s)) => {
                path.push(s.clone());
                i += 1;
            }
            Some(Tok::Star) => {
                i += 1;
                break;
            }
            Some(Tok::Open) => {
                i += 1;
                loop {
                    match toks.get(i) {
                        Some(Tok::Close) => {
                            i += 1;
                            break;
                        }
                        Some(Tok::Comma) => i += 1,
                        Some(Tok::Ident(_)) | Some(Tok::Open) | Some(Tok::Star) => {
                            i = read_path(toks, i, path.clone(), out);
                            // `x as y`
                            if let Some(Tok::Ident(kw)) = toks.get(i)
                                && kw == "as"
                            {
                                i += 2;
                            }
                        }
                        None => return i,
                        _ => i += 1,
                    }
                }
                return i;
            }
            _ => break,
        }
        if toks.get(i) == Some(&Tok::Path) {
            i += 1;
        } else {
            break;
        }
    }
    out.push(path);
    i
}

/// The modules each file refers to.
fn references(module: &[String], text: &str, known: &BTreeSet<Vec<String>>) -> Vec<Vec<String>> {
    let toks = tokens(&code_only(text));
    // Child modules declared in this file with `mod x;` (relative paths may start with them).
    let mut children = BTreeSet::new();
    for w in toks.windows(3) {
        if let [Tok::Ident(m), Tok::Ident(name), Tok::Other] = w
            && m == "mod"
        {
            children.insert(name.clone());
        }
    }
    // Depth of inline `mod x { .. }` blocks, so that `super::` inside `mod tests` means this file.
    let mut inline: Vec<usize> = Vec::new();
    let mut depth = 0usize;
    let mut out = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        match &toks[i] {
            Tok::Open => {
                depth += 1;
                i += 1;
                continue;
            }
            Tok::Close => {
                if inline.last() == Some(&depth) {
                    inline.pop();
                }
                depth = depth.saturating_sub(1);
                i += 1;
                continue;
            }
            Tok::Ident(m) if m == "mod" => {
                if let (Some(Tok::Ident(_)), Some(Tok::Open)) = (toks.get(i + 1), toks.get(i + 2)) {
                    inline.push(depth + 1);
                }
                i += 1;
                continue;
            }
            Tok::Ident(first) => {
                let after_path = i > 0 && toks[i - 1] == Tok::Path;
                if after_path || toks.get(i + 1) != Some(&Tok::Path) {
                    i += 1;
                    continue;
                }
                let start: Option<Vec<String>> = match first.as_str() {
                    "crate" => Some(Vec::new()),
                    "super" | "self" => {
                        // Inside inline modules, `self`/`super` climb those first.
                        let mut base: Vec<String> = module.to_vec();
                        let mut levels = inline.len() as isize;
                        let mut j = i;
                        let mut ups = 0isize;
                        while let Some(Tok::Ident(s)) = toks.get(j) {
                            if s == "super" {
                                ups += 1;
                            } else if s != "self" {
                                break;
                            }
                            if toks.get(j + 1) != Some(&Tok::Path) {
                                break;
                            }
                            j += 2;
                        }
                        levels -= ups;
                        while levels < 0 {
                            base.pop();
                            levels += 1;
                        }
                        i = j;
                        Some(base)
                    }
                    name if inline.is_empty() && children.contains(name) => Some(module.to_vec()),
                    _ => None,
                };
                let Some(start) = start else {
                    i += 1;
                    continue;
                };
                let begin = if first == "crate" { i + 2 } else { i };
                let mut paths = Vec::new();
                i = read_path(&toks, begin, start, &mut paths);
                for p in paths {
                    // The longest prefix that names a file.
                    let mut p = p;
                    while !p.is_empty() && !known.contains(&p) {
                        p.pop();
                    }
                    out.push(p);
                }
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    out
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mods = modules(&src);
    let known: BTreeSet<Vec<String>> = mods.keys().cloned().collect();
    let name = |m: &Vec<String>| {
        mods[m]
            .strip_prefix(&src)
            .expect("under src")
            .to_string_lossy()
            .into_owned()
    };
    let mut g = BTreeMap::new();
    for (module, path) in &mods {
        let text = std::fs::read_to_string(path).expect("read source");
        let deps: BTreeSet<String> = references(module, &text, &known)
            .iter()
            .filter(|d| *d != module)
            .map(name)
            .collect();
        g.insert(name(module), deps);
    }
    g
}

/// Strongly connected components with more than one file (Tarjan).
fn cycles(g: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct St<'a> {
        g: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on: BTreeSet<&'a str>,
        next: usize,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(s: &mut St<'a>, v: &'a str) {
        s.index.insert(v, s.next);
        s.low.insert(v, s.next);
        s.next += 1;
        s.stack.push(v);
        s.on.insert(v);
        let g = s.g;
        for w in g.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !s.index.contains_key(w) {
                visit(s, w);
                let lw = s.low[w];
                let lv = s.low.get_mut(v).expect("visited");
                *lv = (*lv).min(lw);
            } else if s.on.contains(w) {
                let iw = s.index[w];
                let lv = s.low.get_mut(v).expect("visited");
                *lv = (*lv).min(iw);
            }
        }
        if s.low[v] == s.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on.remove(w);
                comp.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort();
                s.out.push(comp);
            }
        }
    }
    let mut s = St {
        g,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in g.keys() {
        if !s.index.contains_key(v.as_str()) {
            visit(&mut s, v);
        }
    }
    s.out
}

/// One concrete cycle inside a component, found by walking edges that stay in it.
fn one_cycle(g: &BTreeMap<String, BTreeSet<String>>, comp: &[String]) -> Vec<String> {
    let inside: BTreeSet<&String> = comp.iter().collect();
    let start = &comp[0];
    // Breadth-first from start back to start.
    let mut prev: BTreeMap<&String, &String> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(v) = queue.pop_front() {
        for w in &g[v] {
            if !inside.contains(w) {
                continue;
            }
            if w == start {
                let mut path = vec![v.clone()];
                let mut cur = v;
                while cur != start {
                    cur = prev[cur];
                    path.push(cur.clone());
                }
                path.reverse();
                path.push(start.clone());
                return path;
            }
            if !prev.contains_key(w) {
                prev.insert(w, v);
                queue.push_back(w);
            }
        }
    }
    comp.to_vec()
}

#[test]
fn no_file_level_import_cycles() {
    let g = graph();
    let found = cycles(&g);
    let mut report = String::new();
    for comp in &found {
        report.push_str(&format!(
            "\ncycle among {} files: {}\n  e.g. {}\n",
            comp.len(),
            comp.join(", "),
            one_cycle(&g, comp).join(" -> ")
        ));
        for f in comp {
            let inner: Vec<&String> = g[f].iter().filter(|d| comp.contains(d)).collect();
            report.push_str(&format!("  {f} -> {inner:?}\n"));
        }
    }
    assert!(
        found.is_empty(),
        "file-level import cycles in src/:{report}"
    );
}

/// The scanner itself: the things it must see and the things it must not.
#[test]
fn scanner_resolves_paths() {
    let known: BTreeSet<Vec<String>> = [
        vec![],
        vec!["a".to_string()],
        vec!["a".to_string(), "b".to_string()],
        vec!["c".to_string()],
    ]
    .into_iter()
    .collect();
    let text = r#"
        mod b;
        use crate::{c::X, a::b::{Y, Z as W}};
        // use crate::nothing::here;
        fn f() { let s = "crate::c::Q"; b::g(); }
        #[cfg(test)]
        mod tests { use super::*; }
    "#;
    let refs = references(&["a".to_string()], text, &known);
    let set: BTreeSet<Vec<String>> = refs.into_iter().collect();
    let want: BTreeSet<Vec<String>> = [
        vec!["c".to_string()],
        vec!["a".to_string(), "b".to_string()],
        vec!["a".to_string()],
    ]
    .into_iter()
    .collect();
    assert_eq!(set, want);
}

/// The graph itself, for reading: `cargo test --test layers -- --ignored --nocapture`.
#[test]
#[ignore = "prints the file graph; run by hand"]
fn print_file_graph() {
    for (file, deps) in graph() {
        let deps: Vec<&str> = deps.iter().map(String::as_str).collect();
        println!("{file} -> {}", deps.join(", "));
    }
}
