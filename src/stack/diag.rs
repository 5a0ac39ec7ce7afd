//! Diagnostics for stack files: `file:line:col: message` plus a hint, never a bare serde error.

use std::fmt;
use std::path::{Path, PathBuf};

use serde_saphyr::Location;

/// One problem in a stack file, pointing at the offending place.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
#[error("{}:{line}:{column}: {message}", file.display())]
#[diagnostic(code(wxinfra::stack))]
pub struct StackDiagnostic {
    pub file: PathBuf,
    pub line: u64,
    pub column: u64,
    pub message: String,
    #[help]
    pub help: String,
}

impl StackDiagnostic {
    pub fn new(
        file: &Path,
        at: Location,
        message: impl Into<String>,
        help: impl Into<String>,
    ) -> Self {
        // A defaulted field has no location: point at the top of the file rather than 0:0.
        let (line, column) = if at == Location::UNKNOWN {
            (1, 1)
        } else {
            (at.line(), at.column())
        };
        Self {
            file: file.to_path_buf(),
            line,
            column,
            message: message.into(),
            help: help.into(),
        }
    }
}

/// Every problem found in one stack file, in file order.
#[derive(Debug, Clone, thiserror::Error)]
pub struct StackErrors(pub Vec<StackDiagnostic>);

impl fmt::Display for StackErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}\n  help: {}", d.help)?;
        }
        let n = self.0.len();
        write!(
            f,
            "\n{n} error{} in the stack file; nothing was changed",
            if n == 1 { "" } else { "s" }
        )
    }
}
