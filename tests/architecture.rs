//! One direction through the house: no import circle among the modules of either crate.
//!
//! Reads the sources of the engine (`src/`) and the server (`server/src/`), finds every path
//! that names a module of the same crate (`crate::...`, `super::...`, `self::...`, in `use`
//! lines and in code, with `{...}` groups expanded), and checks that the modules of each folder
//! depend on each other without a circle. A module that uses its own parent, or a parent that
//! uses its children (declaring and re-exporting them), is not a circle: a circle is two
//! sibling subtrees (`crate::store` and `crate::rotation`, or `store::read` and `store::list`)
//! each reaching into the other, directly or around a longer loop.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A module's path inside its crate: `[]` is the crate root, `["store", "read"]` is
/// `crate::store::read`.
type ModPath = Vec<String>;

/// The modules of one crate: their paths and source text.
struct Crate {
    modules: BTreeMap<ModPath, String>,
}

impl Crate {
    /// Reads every `.rs` file under `src` (whose root is `root_file`, `lib.rs`).
    fn read(src: &Path, root_file: &str) -> Self {
        let mut modules = BTreeMap::new();
        let mut stack = vec![src.to_path_buf()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "rs")
                    && let Some(m) = module_of(src, &path, root_file)
                {
                    modules.insert(m, std::fs::read_to_string(&path).unwrap());
                }
            }
        }
        Self { modules }
    }

    /// The longest prefix of `path` that is a module of this crate.
    fn resolve(&self, path: &[String]) -> ModPath {
        (0..=path.len())
            .rev()
            .map(|n| path[..n].to_vec())
            .find(|p| self.modules.contains_key(p))
            .unwrap_or_default()
    }

    /// Every module each module names: `from -> {to}` (itself left out).
    fn edges(&self) -> BTreeMap<ModPath, BTreeSet<ModPath>> {
        self.modules
            .iter()
            .map(|(from, text)| {
                let to = paths_in(&strip_comments(text))
                    .into_iter()
                    .filter_map(|p| absolute(from, &p))
                    .map(|p| self.resolve(&p))
                    .filter(|to| to != from)
                    .collect();
                (from.clone(), to)
            })
            .collect()
    }

    /// The circles among siblings: for each folder, the strongly connected groups of two or
    /// more of its children, each child standing for everything inside it.
    fn circles(&self) -> Vec<Vec<ModPath>> {
        // Edges between siblings under their closest common parent.
        let mut graph: BTreeMap<ModPath, BTreeSet<ModPath>> = BTreeMap::new();
        for (from, tos) in self.edges() {
            for to in tos {
                let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
                if common == from.len() || common == to.len() {
                    continue; // an ancestor and its descendant
                }
                graph
                    .entry(from[..=common].to_vec())
                    .or_default()
                    .insert(to[..=common].to_vec());
            }
        }
        strongly_connected(&graph)
            .into_iter()
            .filter(|group| group.len() > 1)
            .collect()
    }
}

/// The module a file is: `src/store/read.rs` is `["store", "read"]`, `src/store/mod.rs` is
/// `["store"]`, `root_file` is `[]`. `None` for another crate root in the same folder (the
/// server's `main.rs`).
fn module_of(src: &Path, file: &Path, root_file: &str) -> Option<ModPath> {
    let rel: PathBuf = file.strip_prefix(src).unwrap().to_path_buf();
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().unwrap();
    if parts.is_empty() && last != root_file {
        return (last != "main.rs").then(|| vec![last.trim_end_matches(".rs").to_owned()]);
    }
    match last.as_str() {
        "mod.rs" => Some(parts),
        l if l == root_file && parts.is_empty() => Some(parts),
        l => {
            parts.push(l.trim_end_matches(".rs").to_owned());
            Some(parts)
        }
    }
}

/// `text` without `//` comments (doc comments included) and `/* */` blocks, and without the
/// contents of string literals, so that neither prose nor strings count as paths.
fn strip_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '/' if chars.peek() == Some(&'/') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                let mut prev = ' ';
                for c in chars.by_ref() {
                    if prev == '*' && c == '/' {
                        break;
                    }
                    prev = c;
                }
            }
            '"' => {
                let mut escaped = false;
                for c in chars.by_ref() {
                    if !escaped && c == '"' {
                        break;
                    }
                    escaped = !escaped && c == '\\';
                }
                out.push_str("\"\"");
            }
            // A char literal such as '"' or '{': skip it whole (lifetimes have no closing ').
            '\'' => {
                let rest: String = chars.clone().take(3).collect();
                let len = if rest.starts_with('\\') {
                    rest.find('\'').map_or(0, |i| i + 1).max(3)
                } else if rest.chars().nth(1) == Some('\'') {
                    2
                } else {
                    0
                };
                for _ in 0..len {
                    chars.next();
                }
                out.push('\'');
            }
            c => out.push(c),
        }
    }
    out
}

/// Every path starting with `crate`, `super` or `self` in `text`, with `use` groups expanded:
/// `use crate::{a::{b, c}, d};` gives `crate::a::b`, `crate::a::c` and `crate::d`.
fn paths_in(text: &str) -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    let bytes: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < bytes.len() {
        let word_start = i == 0 || !(bytes[i - 1].is_alphanumeric() || bytes[i - 1] == '_');
        let rest: String = bytes[i..(i + 7).min(bytes.len())].iter().collect();
        let head = ["crate::", "super::", "self::"]
            .into_iter()
            .find(|h| rest.starts_with(h));
        match head {
            Some(h) if word_start => {
                let (tree, used) = path_tree(&bytes[i..]);
                expand(&tree, &mut Vec::new(), &mut paths);
                i += used.max(h.len());
            }
            _ => i += 1,
        }
    }
    paths
}

/// A path with groups: segments, then either nothing or a `{...}` of further trees.
#[derive(Debug)]
struct Tree {
    segments: Vec<String>,
    group: Vec<Tree>,
}

/// Parses one path (possibly with a group) at the start of `s`; returns it and the number of
/// characters it took.
fn path_tree(s: &[char]) -> (Tree, usize) {
    let mut tree = Tree {
        segments: Vec::new(),
        group: Vec::new(),
    };
    let mut i = 0;
    let skip_ws = |i: &mut usize| {
        while *i < s.len() && s[*i].is_whitespace() {
            *i += 1;
        }
    };
    loop {
        skip_ws(&mut i);
        if i < s.len() && s[i] == '{' {
            i += 1;
            loop {
                skip_ws(&mut i);
                if i >= s.len() || s[i] == '}' {
                    i += 1;
                    break;
                }
                let (sub, used) = path_tree(&s[i..]);
                tree.group.push(sub);
                i += used.max(1);
                skip_ws(&mut i);
                if i < s.len() && s[i] == ',' {
                    i += 1;
                }
            }
            return (tree, i);
        }
        let start = i;
        while i < s.len() && (s[i].is_alphanumeric() || s[i] == '_' || s[i] == '*') {
            i += 1;
        }
        if i == start {
            return (tree, i);
        }
        tree.segments.push(s[start..i].iter().collect());
        if i + 1 < s.len() && s[i] == ':' && s[i + 1] == ':' {
            i += 2;
        } else {
            // `as name`, `,`, `}`, `;` or anything else ends the path.
            return (tree, i);
        }
    }
}

fn expand(tree: &Tree, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    let depth = prefix.len();
    prefix.extend(tree.segments.iter().cloned());
    if tree.group.is_empty() {
        out.push(prefix.clone());
    } else {
        for sub in &tree.group {
            expand(sub, prefix, out);
        }
    }
    prefix.truncate(depth);
}

/// `path` (from a file of module `from`) as a path from the crate root, or `None` if it leaves
/// the crate (more `super`s than `from` is deep).
fn absolute(from: &ModPath, path: &[String]) -> Option<ModPath> {
    let mut segments = path.iter();
    let mut base = match segments.next()?.as_str() {
        "crate" => Vec::new(),
        "self" => from.clone(),
        "super" => {
            let mut b = from.clone();
            b.pop()?;
            b
        }
        _ => return None,
    };
    for s in segments {
        match s.as_str() {
            "super" => {
                base.pop()?;
            }
            "self" | "*" => {}
            s => base.push(s.to_owned()),
        }
    }
    Some(base)
}

/// Tarjan's strongly connected components of `graph`.
fn strongly_connected(graph: &BTreeMap<ModPath, BTreeSet<ModPath>>) -> Vec<Vec<ModPath>> {
    struct State<'g> {
        graph: &'g BTreeMap<ModPath, BTreeSet<ModPath>>,
        index: BTreeMap<&'g ModPath, usize>,
        low: BTreeMap<&'g ModPath, usize>,
        stack: Vec<&'g ModPath>,
        on_stack: BTreeSet<&'g ModPath>,
        groups: Vec<Vec<ModPath>>,
    }
    fn visit<'g>(s: &mut State<'g>, v: &'g ModPath) {
        let n = s.index.len();
        s.index.insert(v, n);
        s.low.insert(v, n);
        s.stack.push(v);
        s.on_stack.insert(v);
        for w in s.graph.get(v).into_iter().flatten() {
            if !s.index.contains_key(w) {
                visit(s, w);
                let low = s.low[v].min(s.low[w]);
                s.low.insert(v, low);
            } else if s.on_stack.contains(w) {
                let low = s.low[v].min(s.index[w]);
                s.low.insert(v, low);
            }
        }
        if s.low[v] == s.index[v] {
            let mut group = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                group.push(w.clone());
                if w == v {
                    break;
                }
            }
            s.groups.push(group);
        }
    }
    let nodes: BTreeSet<&ModPath> = graph
        .iter()
        .flat_map(|(k, vs)| std::iter::once(k).chain(vs))
        .collect();
    let mut s = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        groups: Vec::new(),
    };
    for v in nodes {
        if !s.index.contains_key(v) {
            visit(&mut s, v);
        }
    }
    s.groups
}

/// The circles of `krate`, with for each the lines that make it, as a readable report.
fn report(krate: &Crate, circles: &[Vec<ModPath>]) -> String {
    let show = |m: &ModPath| format!("crate::{}", m.join("::"));
    let mut out = String::new();
    for group in circles {
        let members: BTreeSet<&ModPath> = group.iter().collect();
        out.push_str(&format!(
            "circle among {}:\n",
            group.iter().map(show).collect::<Vec<_>>().join(", ")
        ));
        for (from, tos) in krate.edges() {
            let Some(f) = members.iter().find(|m| from.starts_with(m)) else {
                continue;
            };
            for to in tos {
                if let Some(t) = members.iter().find(|m| to.starts_with(m))
                    && t != f
                {
                    out.push_str(&format!("  {} uses {}\n", show(&from), show(&to)));
                }
            }
        }
    }
    out
}

fn check(src: &Path) {
    let krate = Crate::read(src, "lib.rs");
    assert!(
        krate.modules.len() > 5,
        "read the modules of {}",
        src.display()
    );
    let circles = krate.circles();
    assert!(
        circles.is_empty(),
        "import circles in {}:\n{}",
        src.display(),
        report(&krate, &circles)
    );
}

#[test]
fn the_engine_has_no_import_circle() {
    check(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
}

#[test]
fn the_server_has_no_import_circle() {
    check(&Path::new(env!("CARGO_MANIFEST_DIR")).join("server/src"));
}

/// The checker itself: it finds a circle between siblings (directly and around a loop), ignores
/// a child using its parent, and reads groups, `super`, comments and strings right.
#[test]
fn the_checker_finds_circles_and_only_circles() {
    let krate = |files: &[(&[&str], &str)]| Crate {
        modules: files
            .iter()
            .map(|(m, text)| {
                (
                    m.iter().map(|s| (*s).to_owned()).collect(),
                    (*text).to_owned(),
                )
            })
            .collect(),
    };
    let names = |c: &Crate| -> Vec<Vec<String>> {
        c.circles()
            .into_iter()
            .map(|g| {
                let mut g: Vec<String> = g.iter().map(|m| m.join("::")).collect();
                g.sort();
                g
            })
            .collect()
    };

    // Parent and children: no circle.
    let tree = krate(&[
        (&[], "mod a; mod b; pub use a::X;"),
        (&["a"], "mod inner; use super::b::Y; use self::inner::Z;"),
        (&["a", "inner"], "use super::super::b::Y; use crate::a::X;"),
        (&["b"], "use crate::{b as _};"),
    ]);
    assert!(names(&tree).is_empty(), "{:?}", names(&tree));

    // Two siblings using each other, one of them from inside a child module.
    let two = krate(&[
        (&[], ""),
        (&["a"], "use crate::b::{Y, self};"),
        (&["b"], ""),
        (&["b", "deep"], "fn f() { let _ = crate::a::X; }"),
    ]);
    assert_eq!(names(&two), vec![vec!["a".to_owned(), "b".to_owned()]]);

    // A loop of three, inside a folder.
    let three = krate(&[
        (&[], ""),
        (&["s"], ""),
        (&["s", "a"], "use super::b::X;"),
        (&["s", "b"], "use super::{c::Y, a as _};"),
        (&["s", "c"], "use crate::s::{a::Z};"),
    ]);
    assert_eq!(
        names(&three),
        vec![vec![
            "s::a".to_owned(),
            "s::b".to_owned(),
            "s::c".to_owned()
        ]]
    );

    // Comments, doc comments and strings are not imports.
    let prose = krate(&[
        (&[], ""),
        (&["a"], "use crate::b::X;"),
        (
            &["b"],
            "// crate::a::X\n/// see [`crate::a`]\n/* crate::a */ const S: &str = \"crate::a::X\"; const C: char = '\"'; fn f<'x>() {}",
        ),
    ]);
    assert!(names(&prose).is_empty(), "{:?}", names(&prose));
}
