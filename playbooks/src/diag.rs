//! Diagnostics with file locations: what `redress check` prints.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// How bad a diagnostic is. Errors fail `check`; warnings are printed and do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Error,
    Warning,
}

/// One problem in one file, at one place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub level: Level,
    pub path: PathBuf,
    /// 1-based line and column (in characters) of the start of the offending span.
    pub line: usize,
    pub col: usize,
    pub message: String,
    /// A next step: a did-you-mean, the accepted values, an example.
    pub help: Option<String>,
}

impl fmt::Display for Diagnostic {
    /// `path:line:col: message`, then `  = help: …` on its own line where there is help.
    /// Warnings say so after the location, so a line that starts `path:line:col: ` is always
    /// one finding for tools that scan them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.level {
            Level::Error => "",
            Level::Warning => "warning: ",
        };
        write!(
            f,
            "{}:{}:{}: {level}{}",
            self.path.display(),
            self.line,
            self.col,
            self.message
        )?;
        if let Some(help) = &self.help {
            write!(f, "\n  = help: {help}")?;
        }
        Ok(())
    }
}

/// A source file being checked: its path and text, to turn byte spans into line:col.
#[derive(Debug, Clone, Copy)]
pub struct SourceFile<'a> {
    pub path: &'a Path,
    pub text: &'a str,
}

impl<'a> SourceFile<'a> {
    pub fn new(path: &'a Path, text: &'a str) -> Self {
        Self { path, text }
    }

    /// 1-based line and column of byte offset `at` (clamped to the text).
    pub fn line_col(&self, at: usize) -> (usize, usize) {
        let mut at = at.min(self.text.len());
        while !self.text.is_char_boundary(at) {
            at -= 1;
        }
        let before = &self.text[..at];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let col = self.text[line_start..at].chars().count() + 1;
        (line, col)
    }

    pub fn error(&self, span: Range<usize>, message: impl Into<String>) -> Diagnostic {
        self.at(Level::Error, span, message.into(), None)
    }

    pub fn error_help(
        &self,
        span: Range<usize>,
        message: impl Into<String>,
        help: impl Into<String>,
    ) -> Diagnostic {
        self.at(Level::Error, span, message.into(), Some(help.into()))
    }

    pub fn warning(&self, span: Range<usize>, message: impl Into<String>) -> Diagnostic {
        self.at(Level::Warning, span, message.into(), None)
    }

    fn at(
        &self,
        level: Level,
        span: Range<usize>,
        message: String,
        help: Option<String>,
    ) -> Diagnostic {
        let (line, col) = self.line_col(span.start);
        Diagnostic {
            level,
            path: self.path.to_path_buf(),
            line,
            col,
            message,
            help,
        }
    }

    /// A TOML parse or schema error from serde, at its span (or the top of the file).
    pub fn from_toml(&self, err: &toml::de::Error) -> Diagnostic {
        let span = err.span().unwrap_or(0..0);
        // toml's message is several lines with a source excerpt in Display; the bare
        // message is what belongs after the location.
        let message = err.message().trim().replace('\n', " ");
        self.error(span, message)
    }
}

/// The closest of `candidates` to `word`, if it is close enough to be a likely typo.
pub fn did_you_mean<'c>(
    word: &str,
    candidates: impl IntoIterator<Item = &'c str>,
) -> Option<&'c str> {
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(word, c), c))
        .filter(|(d, c)| *d <= (c.len().max(word.len()) / 3).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_characters_from_one() {
        let text = "a = 1\nbé = 2\n";
        let f = SourceFile::new(Path::new("x.toml"), text);
        assert_eq!(f.line_col(0), (1, 1));
        assert_eq!(f.line_col(6), (2, 1));
        // After the two-byte é, the column counts characters.
        assert_eq!(f.line_col(9), (2, 3));
        assert_eq!(f.line_col(10_000), (3, 1));
    }

    #[test]
    fn did_you_mean_finds_typos_only() {
        let c = ["s3.put_public_access_block", "iam.deactivate_access_key"];
        assert_eq!(
            did_you_mean("s3.put_public_acess_block", c),
            Some("s3.put_public_access_block")
        );
        assert_eq!(did_you_mean("ec2.reboot", c), None);
    }
}
