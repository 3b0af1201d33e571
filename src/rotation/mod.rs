//! Rotators built on the store's public API: the built-in PostgreSQL rotator (feature
//! `postgres`), and [`CopyCurrentValueRotator`] (a testing aid). The rotation machinery itself (the [`crate::Rotator`] trait, the driver that runs
//! the steps and keeps their progress in the store) lives in the store, which defines what it
//! calls.

mod copy;
#[cfg(feature = "postgres")]
mod postgres;

pub use self::copy::CopyCurrentValueRotator;

#[cfg(feature = "postgres")]
pub use self::postgres::{
    PostgresCredential, PostgresRotationError, PostgresRotator, PostgresStrategy,
};
