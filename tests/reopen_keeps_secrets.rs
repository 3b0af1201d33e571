//! A committed secret survives closing and reopening the store, and still decrypts.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod common;
use common::*;

#[test]
fn secrets_survive_reopen() {
    let mut t = TestStore::new();
    let v1 = create(&t.s(), "db/password", "hunter2");
    t.reopen();
    assert_eq!(current(&t.s(), "db/password"), "hunter2");
    let d = t.s().describe_secret(&id("db/password")).unwrap();
    assert_eq!(
        d.version_ids_to_stages.unwrap()[&v1][0].as_str(),
        "AWSCURRENT"
    );
}
