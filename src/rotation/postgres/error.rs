//! The rotator's error, and database errors described without the credentials they may quote.

use std::fmt;

use ::postgres::error::SqlState;

/// Why a PostgreSQL rotation step, or reading a credential, failed. The text names the step,
/// the secret or the role, and the database's reason; it never contains a password.
#[derive(Debug)]
pub struct PostgresRotationError {
    message: String,
}

impl PostgresRotationError {
    pub(super) fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }

    /// The text of the error (also its `Display`).
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for PostgresRotationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for PostgresRotationError {}

pub(super) type PgResult<T> = Result<T, PostgresRotationError>;

/// The text of a database error, withheld if it quotes any of `secrets`.
pub(super) fn describe(error: &::postgres::Error, secrets: &[&str]) -> String {
    let (text, code) = match error.as_db_error() {
        Some(db) => (
            format!(
                "{}: {} (SQLSTATE {})",
                db.severity(),
                db.message(),
                db.code().code()
            ),
            Some(db.code().code()),
        ),
        None => {
            // The client's own errors say what failed ("error connecting to server") and keep
            // the reason ("Connection refused") in their source.
            let mut text = error.to_string();
            let mut source = std::error::Error::source(error);
            while let Some(cause) = source {
                text.push_str(": ");
                text.push_str(&cause.to_string());
                source = cause.source();
            }
            (text, error.code().map(SqlState::code))
        }
    };
    if secrets.iter().any(|s| !s.is_empty() && text.contains(s)) {
        match code {
            Some(code) => format!(
                "the database refused it (SQLSTATE {code}; its message quoted the credential and is withheld)"
            ),
            None => "it failed (the message quoted the credential and is withheld)".to_owned(),
        }
    } else {
        text
    }
}
