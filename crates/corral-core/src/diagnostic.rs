//! Problems with the input, pointing into the user's file.

use std::fmt;
use std::sync::Arc;

use serde::Serialize;

use crate::node::Pos;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Note,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub file: Arc<str>,
    /// `None` when the problem is with the file as a whole.
    pub pos: Option<Pos>,
    pub message: String,
    pub hint: Option<String>,
}

impl Diagnostic {
    pub fn new(severity: Severity, file: &Arc<str>, pos: Option<Pos>, message: String) -> Self {
        Diagnostic {
            severity,
            file: file.clone(),
            pos,
            message,
            hint: None,
        }
    }

    pub fn error(file: &Arc<str>, pos: Option<Pos>, message: String) -> Self {
        Self::new(Severity::Error, file, pos, message)
    }

    pub fn warning(file: &Arc<str>, pos: Option<Pos>, message: String) -> Self {
        Self::new(Severity::Warning, file, pos, message)
    }

    pub fn note(file: &Arc<str>, pos: Option<Pos>, message: String) -> Self {
        Self::new(Severity::Note, file, pos, message)
    }

    pub fn file_error(file: &str, message: String) -> Self {
        Self::error(&Arc::from(file), None, message)
    }

    /// `file:line:col` (or just `file`), as editors and terminals link it.
    pub fn location(&self) -> String {
        match self.pos {
            Some(pos) => format!("{}:{}:{}", self.file, pos.line, pos.col),
            None => self.file.to_string(),
        }
    }
}
