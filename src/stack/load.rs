//! Reading a stack file from disk into the typed model, with file:line:col errors.

use std::path::Path;

use serde_saphyr::Location;

use super::diag::{StackDiagnostic, StackErrors};
use super::model::{LoadedStack, Stack};
use super::validate;

/// Loads, parses and validates a stack file. Pure: reads the file (and checks that the
/// files it names exist), never touches the network.
pub fn load(path: &Path) -> Result<LoadedStack, StackErrors> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        StackErrors(vec![StackDiagnostic::new(
            path,
            Location::UNKNOWN,
            format!("cannot read the stack file: {e}"),
            "pass an existing YAML file with -f/--file",
        )])
    })?;
    parse(path, &text)
}

/// Parses and validates stack text that claims to come from `path`.
pub fn parse(path: &Path, text: &str) -> Result<LoadedStack, StackErrors> {
    let stack: Stack =
        serde_saphyr::from_str(text).map_err(|e| StackErrors(vec![from_serde(path, &e)]))?;
    let dir = path
        .parent()
        .map(|p| {
            if p.as_os_str().is_empty() {
                Path::new(".")
            } else {
                p
            }
        })
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let loaded = LoadedStack {
        stack,
        path: path.to_path_buf(),
        dir,
    };
    let problems = validate::validate(&loaded);
    if problems.is_empty() {
        Ok(loaded)
    } else {
        Err(StackErrors(problems))
    }
}

fn from_serde(path: &Path, err: &serde_saphyr::Error) -> StackDiagnostic {
    let at = err.location().unwrap_or(Location::UNKNOWN);
    let (message, help) = hint_for(&plain_message(err));
    StackDiagnostic::new(path, at, message, help)
}

/// The error text without the location suffix and snippet serde-saphyr adds: we print our own.
fn plain_message(err: &serde_saphyr::Error) -> String {
    let text = err.without_snippet().to_string();
    let first = text.lines().next().unwrap_or_default();
    match first.rfind(" at line ") {
        Some(i) => first[..i].to_string(),
        None => first.to_string(),
    }
}

/// Splits serde's unknown-field message into the message and a did-you-mean hint built from
/// the list of fields serde says are allowed there.
fn hint_for(message: &str) -> (String, String) {
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let (field, tail) = rest.split_once('`').unwrap_or((rest, ""));
        let list = tail
            .split_once("expected")
            .map(|(_, l)| l)
            .unwrap_or_default();
        let list = list.trim().trim_start_matches("one of").trim();
        let candidates: Vec<&str> = list
            .split(',')
            .map(|c| c.trim().trim_matches('`'))
            .filter(|c| !c.is_empty())
            .collect();
        let help = match did_you_mean(field, &candidates) {
            Some(best) => format!("did you mean `{best}`? (see docs/stack-file.md)"),
            None => format!(
                "allowed here: {}; see docs/stack-file.md",
                candidates.join(", ")
            ),
        };
        return (format!("unknown field `{field}`"), help);
    }
    let help = if message.starts_with("missing field") {
        "add the field; docs/stack-file.md lists every field with an example"
    } else if message.starts_with("unknown variant") {
        "use one of the values the message lists"
    } else {
        "fix the value at this place; docs/stack-file.md documents every field"
    };
    (message.to_string(), help.to_string())
}

/// The closest candidate by edit distance, if it is close enough to be a typo.
pub fn did_you_mean<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (strsim::damerau_levenshtein(word, c), *c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}
