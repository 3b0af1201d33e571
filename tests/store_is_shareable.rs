//! `SecretStore` and `Session` are cheap to clone and can be shared across threads.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod common;

use common::*;
use strongroom::{SecretStore, Session};

fn assert_shareable<T: Clone + Send + Sync + 'static>() {}

#[test]
fn store_and_session_are_clone_send_sync() {
    assert_shareable::<SecretStore>();
    assert_shareable::<Session>();
    let t = TestStore::new();
    create(&t.s(), "shared", "v");
    let clone = t.store.clone();
    let handle = std::thread::spawn(move || current(&clone.as_system(), "shared"));
    assert_eq!(handle.join().unwrap(), "v");
}
