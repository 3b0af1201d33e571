//! The server's integration tests, one module per subject, built as one test binary: each
//! binary links the whole server and the AWS SDK, so one binary instead of eight saves minutes
//! of every fresh build. `postgres_rotation.rs` stays a binary of its own: it captures the
//! server's log with the rotation functions' output, which `rotation.rs` checks is never logged
//! at the default level, and a process has one log subscriber.

mod common;

mod audit;
mod binary;
mod connections;
mod malformed;
mod moto_compat;
mod python_clients;
mod rotation;
mod rotation_isolation;
mod sdk_operations;
mod shutdown;
mod sigv4;
mod smoke;
mod tls;
mod write_tokens;
