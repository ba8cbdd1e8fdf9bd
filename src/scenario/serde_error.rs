//! serde's errors as [`ScenarioError`]s: each names the field's JSON path, written so that
//! any key can be told apart from the path around it.

use serde_json::Value;
use serde_json::error::Category;
use serde_path_to_error::Segment;

use super::ScenarioError;

/// Turns a serde error into a [`ScenarioError`]. Missing, unknown and duplicate fields are
/// reported at the field itself (`faults[0].at_ms`), not at the object holding it. Numbers
/// out of range and nesting too deep are well-formed JSON that serde_json reports as
/// syntax errors: they are reported at their field.
pub(super) fn from_serde(err: serde_path_to_error::Error<serde_json::Error>) -> ScenarioError {
    let segments: Vec<Segment> = err.path().iter().cloned().collect();
    let inner = err.into_inner();
    let full = inner.to_string();
    let location = format!(" at line {} column {}", inner.line(), inner.column());
    let message = full.strip_suffix(&location).unwrap_or(&full);
    let well_formed = ["number out of range", "recursion limit exceeded"]
        .iter()
        .any(|m| message.starts_with(m));
    if inner.classify() != Category::Data && !well_formed {
        return ScenarioError::Syntax(full);
    }
    let path = render(&segments);
    let (field, reason) = if let Some(name) = named_field(message, "missing field `") {
        (
            join(&segments, name),
            "required field is missing".to_string(),
        )
    } else if message.starts_with("unknown field `") {
        // The path ends with the unknown key itself, whatever characters it holds.
        let key = match segments.last() {
            Some(Segment::Map { key }) => key.as_str(),
            _ => "",
        };
        let allowed = message
            .strip_prefix(&format!("unknown field `{key}`, "))
            .unwrap_or("");
        let allowed = allowed.replace("there are no fields", "no fields are allowed here");
        (path, format!("unknown field; {allowed}"))
    } else if let Some(name) = named_field(message, "duplicate field `") {
        (join(&segments, name), "given more than once".to_string())
    } else if message.starts_with("number out of range") {
        (
            path,
            "number out of range (beyond a 64-bit float)".to_string(),
        )
    } else if well_formed {
        (path, "nested more than 128 levels deep".to_string())
    } else {
        (path, message.to_string())
    };
    let field = if field.is_empty() {
        "(top level)".to_string()
    } else {
        field
    };
    let reason = if inner.line() == 0 {
        reason
    } else {
        format!(
            "{reason} (line {}, column {})",
            inner.line(),
            inner.column()
        )
    };
    ScenarioError::Invalid { field, reason }
}

/// The name in a message such as "missing field `at_ms`", if it has that prefix. Only
/// used for names of the format, which hold no backquote.
fn named_field<'m>(message: &'m str, prefix: &str) -> Option<&'m str> {
    message.strip_prefix(prefix)?.split('`').next()
}

/// The path of a field as messages show it: `faults[0].crash`. A key that is not a plain
/// name (empty, or with characters other than letters, digits, `_` and `-`) is written as
/// a JSON string, so `config."a.b"` and `config.""` say exactly which key is meant.
fn render(segments: &[Segment]) -> String {
    let mut out = String::new();
    for segment in segments {
        match segment {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Map { key } | Segment::Enum { variant: key } => {
                if !out.is_empty() {
                    out.push('.');
                }
                let plain = !key.is_empty()
                    && key
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
                if plain {
                    out.push_str(key);
                } else {
                    out.push_str(&Value::String(key.clone()).to_string());
                }
            }
            Segment::Unknown => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push('?');
            }
        }
    }
    out
}

/// The path of field `name` of the object at `segments`. serde_path_to_error may already
/// have recorded the key itself (a duplicate field); then it is not added twice.
fn join(segments: &[Segment], name: &str) -> String {
    match segments.last() {
        Some(Segment::Map { key }) if key == name => render(segments),
        _ => {
            let field = [
                segments,
                &[Segment::Map {
                    key: name.to_string(),
                }],
            ]
            .concat();
            render(&field)
        }
    }
}
