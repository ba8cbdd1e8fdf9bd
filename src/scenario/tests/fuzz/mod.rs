//! The loader fuzzed. Every shipped scenario (`scenarios/**/*.json`, read at test time)
//! is mutated at random and loaded as `kafkasim` loads a file. Loading never panics, and
//! every rejection starts with the file's name and then names where the problem is:
//! - `field `F`: ...`, where F "names a field": following F's keys and indexes through
//!   the mutant reaches a value, or (the reason says "required field is missing") reaches
//!   an object that lacks F's last key;
//! - `not valid JSON: ... at line L column C` for text that is not JSON, where no field
//!   can be named: L and C must lie inside the text. Text cut short always gets this
//!   form; text broken by one character may instead get a field with its line and column
//!   inside the text, when serde meets a wrong type before the broken syntax
//!   (`"brokers": [3, ...`).
//!
//! One mutation alone is held to a sharper rule ([`Rule`]): an unknown or duplicated key
//! is named exactly, a swapped type or a wrapped value is reported at that value or
//! inside it, a deleted required field is named as missing. Three properties, 12,000
//! cases in all, take well under a second.

mod mutate;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use proptest::prelude::*;
use proptest::test_runner::Config;
use serde_json::{Map, Value};

use crate::scenario::Scenario;
use mutate::{DUP, Rule, Seg, apply, get, op, pick, write};

/// A shipped scenario: its path as a user would give it, its text and its JSON.
struct Base {
    file: PathBuf,
    text: String,
    doc: Value,
}

/// Every `*.json` under `scenarios/`, sorted; each must load as shipped.
fn corpus() -> &'static [Base] {
    static CORPUS: OnceLock<Vec<Base>> = OnceLock::new();
    CORPUS.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut pending = vec![root.join("scenarios")];
        let mut files = Vec::new();
        while let Some(dir) = pending.pop() {
            for entry in std::fs::read_dir(&dir).expect("scenarios/ is readable") {
                let path = entry.expect("readable entry").path();
                if path.is_dir() {
                    pending.push(path);
                } else if path.extension().is_some_and(|x| x == "json") {
                    files.push(path);
                }
            }
        }
        files.sort();
        assert!(files.len() >= 10, "the shipped scenarios: {files:?}");
        files
            .into_iter()
            .map(|path| {
                let text = std::fs::read_to_string(&path).expect("readable scenario");
                let file = path
                    .strip_prefix(root)
                    .expect("under the crate")
                    .to_path_buf();
                load(&file, &text).unwrap_or_else(|e| panic!("shipped scenario: {e}"));
                let doc = serde_json::from_str(&text).expect("shipped scenarios are JSON");
                Base { file, text, doc }
            })
            .collect()
    })
}

/// Loads as the command line does; the error as the user reads it.
fn load(file: &Path, text: &str) -> Result<Scenario, String> {
    crate::cli::parse_scenario_file(file, text).map_err(|e| format!("{e:#}"))
}

/// Whether the loader's field `field` leads to a value in `doc`; with `missing`, the
/// last key may be absent from an object (a required field that is not there).
fn resolves(doc: &Value, field: &str, missing: bool) -> bool {
    let Some(path) = parse_field(field) else {
        return false;
    };
    match path.split_last() {
        None => false, // the loader names the top level only for a document not an object
        Some((Seg::Key(_), parent)) if missing => get(doc, parent).is_some_and(Value::is_object),
        Some(_) => get(doc, &path).is_some(),
    }
}

/// The steps of a field as the loader writes it: `a.b[0]`, with keys that are not plain
/// names as JSON strings (`config."a.b"`).
fn parse_field(field: &str) -> Option<Vec<Seg>> {
    let mut rest = field;
    let mut path = Vec::new();
    while !rest.is_empty() {
        if let Some(inner) = rest.strip_prefix('[') {
            let (index, after) = inner.split_once(']')?;
            path.push(Seg::At(index.parse().ok()?));
            rest = after;
            continue;
        }
        if !path.is_empty() {
            rest = rest.strip_prefix('.')?;
        }
        if rest.starts_with('"') {
            let mut strings = serde_json::Deserializer::from_str(rest).into_iter::<String>();
            let key = strings.next()?.ok()?;
            rest = &rest[strings.byte_offset()..];
            path.push(Seg::Key(key));
        } else {
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
                .unwrap_or(rest.len());
            if end == 0 {
                return None;
            }
            path.push(Seg::Key(rest[..end].to_string()));
            rest = &rest[end..];
        }
    }
    Some(path)
}

/// The documents the rules check fields against: placeholders become plain values again
/// (a raw number a string), and a duplicated key holds its first value in one document and
/// its second in the other (serde may complain about either).
fn for_rules(doc: &Value) -> [Value; 2] {
    [plain(doc, true), plain(doc, false)]
}

fn plain(doc: &Value, first: bool) -> Value {
    match doc {
        Value::Object(map) => {
            let mut out = Map::new();
            for (key, value) in map {
                match key.strip_prefix(DUP) {
                    Some(original) if first => {
                        drop(out.insert(original.into(), plain(value, first)))
                    }
                    Some(_) => {}
                    None if first && map.contains_key(&format!("{DUP}{key}")) => {}
                    None => drop(out.insert(key.clone(), plain(value, first))),
                }
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(|v| plain(v, first)).collect()),
        other => other.clone(),
    }
}

/// Checks one rejection of the JSON mutant `docs` (the file `file`) against `rule`.
fn check_field(message: &str, file: &Path, docs: &[Value], rule: &Rule) -> Result<(), String> {
    let prefix = format!("{}: field `", file.display());
    let Some(rest) = message.strip_prefix(&prefix) else {
        return Err(format!("does not start with {prefix:?}"));
    };
    let Some((field, reason)) = rest.split_once("`: ") else {
        return Err("no closing quote after the field".into());
    };
    let missing = reason.starts_with("required field is missing");
    if !docs.iter().any(|doc| resolves(doc, field, missing)) {
        return Err(format!("field `{field}` is not in the mutant"));
    }
    let path = parse_field(field).unwrap_or_default();
    let fits = match rule {
        Rule::Exactly(f) => path == *f,
        Rule::AtOrUnder(f) => path.starts_with(f),
        Rule::Missing(f) => !missing || path == *f,
        Rule::AnyField => true,
    };
    if !fits {
        return Err(format!("field `{field}` does not fit {rule:?}"));
    }
    Ok(())
}

/// Checks that a rejection of `text` (the file `file`) is a syntax error with a line and
/// column inside `text`.
fn check_syntax(message: &str, file: &Path, text: &str) -> Result<(), String> {
    let prefix = format!("{}: not valid JSON: ", file.display());
    if !message.starts_with(&prefix) {
        return Err(format!("does not start with {prefix:?}"));
    }
    check_position(message, text, " column ")
}

/// Checks that `message` ends with `line L{between}C` (`)` allowed after it) and that L
/// and C lie inside `text`.
fn check_position(message: &str, text: &str, between: &str) -> Result<(), String> {
    let (_, at) = message.rsplit_once("line ").ok_or("no line and column")?;
    let (line, column) = at.split_once(between).ok_or("no column")?;
    let column = column.strip_suffix(')').unwrap_or(column);
    let (line, column): (usize, usize) = (
        line.parse().map_err(|_| "line is not a number")?,
        column.parse().map_err(|_| "column is not a number")?,
    );
    let lines: Vec<&str> = text.split('\n').collect();
    if line == 0 || line > lines.len() || column > lines[line - 1].len() + 1 {
        return Err(format!("line {line} column {column} is not in the text"));
    }
    Ok(())
}

/// Loads `text` (a mutant of `base`; `docs` its JSON, none when it is not JSON) and checks
/// the outcome; the error says what broke and shows the message.
fn verdict(base: &Base, text: &str, docs: &[Value], rule: &Rule) -> Result<(), String> {
    let Err(message) = load(&base.file, text) else {
        return match rule {
            Rule::Exactly(f) => Err(format!("accepted, but {f:?} is not allowed")),
            _ => Ok(()),
        };
    };
    let checked = match docs {
        [_, ..] => check_field(&message, &base.file, docs, rule),
        // Not JSON, but serde may meet a wrong type before the broken syntax
        // (`"brokers": [3, ...`): then the field is named with a line and column.
        [] if message.contains(": field `") => check_position(&message, text, ", column "),
        [] => check_syntax(&message, &base.file, text),
    };
    checked.map_err(|why| format!("{why}\n  message: {message}"))
}

fn config(cases: u32) -> Config {
    Config {
        cases,
        ..Config::default()
    }
}

proptest! {
    #![proptest_config(config(6_000))]

    /// One mutation: the rejection names the field it touched (see [`Rule`]).
    #[test]
    fn one_mutation_is_named_where_it_was_made(file in pick(), op in op(), at in pick()) {
        let base = &corpus()[file.of(corpus().len())];
        let mut doc = base.doc.clone();
        if let Some(rule) = apply(&mut doc, &op, at) {
            let text = write(&doc);
            let result = verdict(base, &text, &for_rules(&doc), &rule);
            prop_assert!(result.is_ok(), "{}: {op:?}: {}", base.file.display(), result.unwrap_err());
        }
    }
}

proptest! {
    #![proptest_config(config(3_000))]

    /// Two to four mutations: the rejection names a field of the mutant.
    #[test]
    fn several_mutations_name_a_field_of_the_mutant(
        file in pick(),
        ops in prop::collection::vec((op(), pick()), 2..=4),
    ) {
        let base = &corpus()[file.of(corpus().len())];
        let mut doc = base.doc.clone();
        for (op, at) in &ops {
            apply(&mut doc, op, *at);
        }
        let text = write(&doc);
        let result = verdict(base, &text, &for_rules(&doc), &Rule::AnyField);
        prop_assert!(result.is_ok(), "{}: {ops:?}: {}", base.file.display(), result.unwrap_err());
    }
}

proptest! {
    #![proptest_config(config(3_000))]

    /// The shipped text cut short, or one character deleted, inserted or replaced: a
    /// syntax error names line and column, any other rejection a field of the mutant.
    #[test]
    fn broken_text_names_a_line_and_column_or_a_field(
        file in pick(),
        at in pick(),
        edit in 0u8..4,
        glyph in prop::sample::select(vec![',', ':', '{', '}', '[', ']', '"', '\\', '0', '9', 'a', '-', ' ', 'é']),
    ) {
        let base = &corpus()[file.of(corpus().len())];
        let mut text = base.text.clone();
        let cuts: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
        let cut = cuts[at.of(cuts.len())];
        match edit {
            0 => text.truncate(cut),
            1 => {
                text.remove(cut);
            }
            2 => text.insert(cut, glyph),
            _ => text.replace_range(cut..cut + text[cut..].chars().next().map_or(0, char::len_utf8), &glyph.to_string()),
        }
        let docs: Vec<Value> = serde_json::from_str(&text).into_iter().collect();
        let result = verdict(base, &text, &docs, &Rule::AnyField);
        prop_assert!(result.is_ok(), "{}: edit {edit} at byte {cut} ({glyph:?}): {}", base.file.display(), result.unwrap_err());
        if edit == 0 && text.trim_end() != base.text.trim_end() {
            let message = load(&base.file, &text).err().unwrap_or_default();
            let syntax = check_syntax(&message, &base.file, &text);
            prop_assert!(syntax.is_ok(), "cut at byte {cut}: {}: {message}", syntax.unwrap_err());
        }
    }
}
