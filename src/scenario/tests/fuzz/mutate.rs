//! Mutations of a scenario's JSON for the loader's fuzz test, and what each promises
//! about the rejection it may cause ([`Rule`]).

use proptest::prelude::*;
use serde_json::{Value, json};

/// A choice among `len` things, drawn as a fraction of `u64::MAX` (so one draw serves
/// lists of any length, and shrinking goes to the first).
#[derive(Clone, Copy, Debug)]
pub(super) struct Pick(u64);

impl Pick {
    pub(super) fn of(self, len: usize) -> usize {
        assert!(len > 0, "a pick among nothing");
        ((len as u128 * u128::from(self.0)) >> 64) as usize
    }
}

pub(super) fn pick() -> impl Strategy<Value = Pick> {
    any::<u64>().prop_map(Pick)
}

/// One step of a path through a JSON document.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Seg {
    Key(String),
    At(usize),
}

/// The path of every value in `doc`, the root (empty path) first.
fn paths(doc: &Value) -> Vec<Vec<Seg>> {
    let mut out = vec![Vec::new()];
    let mut i = 0;
    while i < out.len() {
        let path = out[i].clone();
        match get(doc, &path) {
            Some(Value::Object(map)) => {
                out.extend(
                    map.keys()
                        .map(|k| [&path[..], &[Seg::Key(k.clone())]].concat()),
                );
            }
            Some(Value::Array(items)) => {
                out.extend((0..items.len()).map(|j| [&path[..], &[Seg::At(j)]].concat()));
            }
            _ => {}
        }
        i += 1;
    }
    out
}

pub(super) fn get<'a>(doc: &'a Value, path: &[Seg]) -> Option<&'a Value> {
    path.iter().try_fold(doc, |v, seg| match seg {
        Seg::Key(k) => v.get(k),
        Seg::At(i) => v.get(i),
    })
}

fn get_mut<'a>(doc: &'a mut Value, path: &[Seg]) -> Option<&'a mut Value> {
    path.iter().try_fold(doc, |v, seg| match seg {
        Seg::Key(k) => v.get_mut(k),
        Seg::At(i) => v.get_mut(i),
    })
}

/// Placeholders for JSON that `Value` cannot hold, spliced into the text after writing
/// it out: a raw number token (`1e999`) or a key given twice.
const RAW: &str = "\u{1}RAW:";
pub(super) const DUP: &str = "\u{1}DUP:";

/// Writes `doc` as text and splices the placeholders in.
pub(super) fn write(doc: &Value) -> String {
    let mut text = serde_json::to_string_pretty(doc).expect("a Value writes");
    for marker in [RAW, DUP] {
        let escaped = format!("\"{}", marker.replace('\u{1}', "\\u0001"));
        while let Some(start) = text.find(&escaped) {
            let body = start + escaped.len();
            let end = body + text[body..].find('"').expect("closing quote");
            let token = text[body..end].to_string();
            let replacement = if marker == RAW {
                token
            } else {
                format!("\"{token}\"")
            };
            text.replace_range(start..=end, &replacement);
        }
    }
    text
}

/// Numbers as raw JSON tokens: edges of every integer type the format uses and of the
/// time limit (2^31 - 1 ms), floats, negative zero, and numbers out of range of `f64`.
const NUMBERS: &[&str] = &[
    "0",
    "1",
    "2",
    "-1",
    "255",
    "256",
    "65536",
    "2147483647",
    "2147483648",
    "4294967295",
    "4294967296",
    "9007199254740993",
    "9223372036854775807",
    "-9223372036854775808",
    "18446744073709551615",
    "18446744073709551616",
    "100000000000000000000000000000",
    "0.5",
    "1.0",
    "-0",
    "-0.0",
    "1e3",
    "1e300",
    "-1e300",
    "1e999",
    "-1e999",
    "1e-400",
];

/// Strings: empty, blank, NaN-like, numeric, quoting trouble, very long, and edges of the
/// target, enum and version forms.
fn strings() -> Vec<String> {
    let fixed = [
        "",
        " ",
        "NaN",
        "Infinity",
        "-Infinity",
        "null",
        "true",
        "0",
        "-1",
        "1e999",
        "é🦀",
        "a`b",
        "\"",
        "\n",
        "\\",
        "controller",
        "leader:",
        "followers:",
        "replica:",
        "replica:events-0",
        "replica:events-0:9",
        "replica:events-0:-1",
        "replica:events-0:18446744073709551616",
        "leader:events-4294967296",
        "leader:events-",
        "leader:-0",
        "leader:events-0",
        "followers:orders-1",
        "all",
        "pass",
        "4.1",
        "0.8",
        "crash",
        "lost-write",
        "model-invariant",
        "round-robin",
        "high-watermark",
    ];
    let mut out: Vec<String> = fixed.iter().map(|s| s.to_string()).collect();
    out.push("x".repeat(10_000));
    out
}

/// Keys no object accepts, or that spell a field differently.
const KEYS: &[&str] = &[
    "x", "", "a.b", "a`b", "a[0]", "[0]", ".", "Name", "ACKS", "Brokers", "at-ms", "é", " name",
    "name ", "kinds\n", "\u{0}",
];
/// Keys of the format: unknown in most objects, optional fields in some.
const FIELD_KEYS: &[&str] = &[
    "acks", "faults", "at_ms", "brokers", "kinds", "seed", "heal",
];

/// Replacements of another JSON type, nested ones included.
fn other_types() -> Vec<Value> {
    vec![
        Value::Null,
        json!(true),
        json!(false),
        json!(0),
        json!(1),
        json!(-1),
        json!(1.5),
        json!(""),
        json!("1"),
        json!("x"),
        json!([]),
        json!([1]),
        json!([[]]),
        json!({}),
        json!({ "a": { "b": [1, { "c": null }] } }),
    ]
}

fn kind(v: &Value) -> u8 {
    match v {
        Value::Null => 0,
        Value::Bool(_) => 1,
        Value::Number(_) => 2,
        Value::String(_) => 3,
        Value::Array(_) => 4,
        Value::Object(_) => 5,
    }
}

/// One change to a document.
#[derive(Clone, Debug)]
pub(super) enum Op {
    /// Remove a member of an object or an element of an array.
    Delete,
    /// Replace a value by one of another JSON type.
    SwapType(Pick),
    /// Replace a number by an odd one (or one near it).
    Number(Pick),
    /// Replace a string by an odd one (or one near it).
    Text(Pick),
    /// Add a key the object does not have.
    UnknownKey(Pick, Pick),
    /// Give one of the object's keys a second time.
    DuplicateKey(Pick),
    /// Replace an array by `[]`.
    EmptyArray,
    /// Append a copy of one of the array's elements.
    DuplicateElement(Pick),
    /// Replace a value by `[value]` (true) or `{"value": value}` (false).
    Wrap(bool),
}

pub(super) fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        Just(Op::Delete),
        pick().prop_map(Op::SwapType),
        pick().prop_map(Op::Number),
        pick().prop_map(Op::Text),
        (pick(), pick()).prop_map(|(k, v)| Op::UnknownKey(k, v)),
        pick().prop_map(Op::DuplicateKey),
        Just(Op::EmptyArray),
        pick().prop_map(Op::DuplicateElement),
        any::<bool>().prop_map(Op::Wrap),
    ]
}

/// What a rejection must name, beyond the file.
#[derive(Debug, PartialEq)]
pub(super) enum Rule {
    /// Exactly this field (unknown and duplicated keys).
    Exactly(Vec<Seg>),
    /// This field or one inside it (a swapped type, a wrapped value); may load.
    AtOrUnder(Vec<Seg>),
    /// Any field of the mutant; a missing required field must be this one. May load.
    Missing(Vec<Seg>),
    /// Any field of the mutant (cross-field rules may point elsewhere). May load.
    AnyField,
}

/// Applies `op` at the `at`-th path that suits it; `None` when no path suits it.
pub(super) fn apply(doc: &mut Value, op: &Op, at: Pick) -> Option<Rule> {
    let all = paths(doc);
    let suits = |p: &&Vec<Seg>| {
        let v = get(doc, p).expect("listed path");
        match op {
            Op::Delete | Op::SwapType(_) | Op::Wrap(_) => !p.is_empty(),
            Op::Number(_) => v.is_number() || v.as_str().is_some_and(|t| t.starts_with(RAW)),
            Op::Text(_) => v.as_str().is_some_and(|t| !t.starts_with(RAW)),
            Op::UnknownKey(..) => v.is_object(),
            Op::DuplicateKey(_) => v.as_object().is_some_and(|m| !m.is_empty()),
            Op::EmptyArray => v.as_array().is_some_and(|a| !a.is_empty()),
            Op::DuplicateElement(_) => v.as_array().is_some_and(|a| !a.is_empty()),
        }
    };
    let candidates: Vec<&Vec<Seg>> = all.iter().filter(suits).collect();
    if candidates.is_empty() {
        return None;
    }
    let path = candidates[at.of(candidates.len())].clone();
    let field = path.clone();
    let target = get_mut(doc, &path).expect("listed path");
    Some(match op {
        Op::Delete => {
            let (last, parent) = path.split_last().expect("not the root");
            match (get_mut(doc, parent).expect("parent"), last) {
                (Value::Object(map), Seg::Key(k)) => drop(map.remove(k)),
                (Value::Array(items), Seg::At(i)) => drop(items.remove(*i)),
                _ => unreachable!("a path step matches its container"),
            }
            Rule::Missing(field)
        }
        Op::SwapType(pick) => {
            let others: Vec<Value> = other_types()
                .into_iter()
                .filter(|v| kind(v) != kind(target))
                .collect();
            *target = others[pick.of(others.len())].clone();
            if target.is_null() {
                Rule::AnyField // null is an absent optional field: cross-field rules apply
            } else {
                Rule::AtOrUnder(field)
            }
        }
        Op::Number(pick) => {
            let near = target.as_f64().unwrap_or(0.0);
            let mut choices: Vec<String> = NUMBERS.iter().map(|s| s.to_string()).collect();
            let near = [near + 1.0, near - 1.0, near * 1000.0];
            choices.extend(
                near.iter()
                    .filter(|n| n.is_finite())
                    .map(|n| format!("{n}")),
            );
            let token = &choices[pick.of(choices.len())];
            *target = Value::String(format!("{RAW}{token}"));
            Rule::AnyField
        }
        Op::Text(pick) => {
            let old = target.as_str().expect("a string").to_string();
            let mut choices = strings();
            let mut chopped = old.clone();
            chopped.pop();
            choices.extend([
                format!("{old}x"),
                old.to_uppercase(),
                chopped,
                format!(" {old}"),
            ]);
            *target = Value::String(choices[pick.of(choices.len())].clone());
            Rule::AnyField
        }
        Op::UnknownKey(key, value) => {
            let map = target.as_object_mut().expect("an object");
            let keys = [KEYS, FIELD_KEYS].concat();
            let mut key = keys[key.of(keys.len())].to_string();
            while map.contains_key(&key) {
                key.push('_');
            }
            let values = other_types();
            map.insert(key.clone(), values[value.of(values.len())].clone());
            if FIELD_KEYS.contains(&key.as_str()) {
                // Maybe an optional field there: rules of the object may apply (a second
                // fault action).
                Rule::AtOrUnder(path)
            } else {
                Rule::Exactly([path, vec![Seg::Key(key)]].concat())
            }
        }
        Op::DuplicateKey(pick) => {
            let map = target.as_object_mut().expect("an object");
            let keys: Vec<String> = map.keys().cloned().collect();
            let key = &keys[pick.of(keys.len())];
            let copy = map[key].clone();
            map.insert(format!("{DUP}{key}"), copy);
            Rule::Exactly([path, vec![Seg::Key(key.clone())]].concat())
        }
        Op::EmptyArray => {
            *target = json!([]);
            Rule::AnyField
        }
        Op::DuplicateElement(pick) => {
            let items = target.as_array_mut().expect("an array");
            let copy = items[pick.of(items.len())].clone();
            items.push(copy);
            Rule::AnyField
        }
        Op::Wrap(in_array) => {
            let inner = target.take();
            *target = if *in_array {
                json!([inner])
            } else {
                json!({ "value": inner })
            };
            Rule::AtOrUnder(field)
        }
    })
}
