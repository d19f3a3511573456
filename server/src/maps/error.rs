//! The one error type of map loading, written for level designers.
//!
//! Every refusal names the file, the place in it (a line and column, a layer,
//! an object, a property) when there is one, and what is wrong in plain
//! words. It is a struct rather than an enum on purpose: nothing branches on
//! the kind of problem, the text is shown to people and serialised as is by
//! the HTTP API.

use std::fmt;
use std::path::{Path, PathBuf};

/// Why a map file was refused.
///
/// `Display` reads `"{file}: {location}: {message}"`, or `"{file}: {message}"`
/// when there is no location.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize)]
pub struct MapLoadError {
    /// The file the problem is in.
    pub file: PathBuf,
    /// Where in the file, e.g. `line 3, column 14` or
    /// `object 7 "gate" in layer "spawns" (line 40)`; `None` when the problem
    /// is the file as a whole.
    pub location: Option<String>,
    /// What is wrong, for a designer.
    pub message: String,
}

impl fmt::Display for MapLoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.file.display())?;
        if let Some(location) = &self.location {
            write!(f, "{location}: ")?;
        }
        f.write_str(&self.message)
    }
}

/// A problem found inside a file, before the file's path is attached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    /// See [`MapLoadError::location`].
    pub location: Option<String>,
    /// See [`MapLoadError::message`].
    pub message: String,
}

impl Problem {
    /// A problem at `location`.
    pub fn at(location: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            location: Some(location.into()),
            message: message.into(),
        }
    }

    /// A problem with the file as a whole.
    pub fn whole(message: impl Into<String>) -> Self {
        Self {
            location: None,
            message: message.into(),
        }
    }

    /// This problem, attributed to `file`.
    pub fn in_file(self, file: &Path) -> MapLoadError {
        MapLoadError {
            file: file.to_path_buf(),
            location: self.location,
            message: self.message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Display names file, place and problem, and leaves out an absent place.
    #[test]
    fn display_names_file_place_and_problem() {
        let at = Problem::at("line 3, column 4", "bad").in_file(Path::new("maps/a.tmx"));
        assert_eq!(at.to_string(), "maps/a.tmx: line 3, column 4: bad");
        let whole = Problem::whole("empty").in_file(Path::new("a.tmx"));
        assert_eq!(whole.to_string(), "a.tmx: empty");
    }
}
