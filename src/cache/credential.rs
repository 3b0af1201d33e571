//! [`SecretCache::with_credential`]: run a call with a cached credential and, when the target
//! refuses it, refresh it (following a rotation in progress) and try again.

use std::fmt;

use super::table::storage_key;
use super::{CachedSecret, SecretCache, VersionSelector};
use crate::error::{Error, ErrorKind};
use crate::model::SecretId;
use crate::store::GetSecretValueOutput;

/// What a closure given to [`SecretCache::with_credential`] reports when it fails.
#[derive(Debug)]
#[non_exhaustive]
pub enum Attempt<E> {
    /// The target system refused the credential: refresh it and try again.
    AuthFailed(E),
    /// Any other failure: no retry.
    Failed(E),
}

/// Why [`SecretCache::with_credential`] failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum CredentialError<E> {
    /// The secret could not be read.
    Read(Error),
    /// The target refused the credential, also after the refresh (and the `AWSPENDING` fallback).
    AuthFailed(E),
    /// The closure failed otherwise.
    Failed(E),
}

impl<E: fmt::Display> fmt::Display for CredentialError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Read(e) => write!(f, "reading the credential failed: {e}"),
            Self::AuthFailed(e) => write!(f, "the credential was refused after a refresh: {e}"),
            Self::Failed(e) => write!(f, "{e}"),
        }
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for CredentialError<E> {}

impl SecretCache {
    /// Runs `call` with the secret's `AWSCURRENT` credential and, when the target refuses it,
    /// refreshes and tries again: the pattern that keeps readers working through a rotation.
    ///
    /// On [`Attempt::AuthFailed`] the secret's entry is dropped and `AWSCURRENT` read again from
    /// the source. If it is a different credential, `call` runs with it. If it is the same one,
    /// `AWSPENDING` is read, then `AWSCURRENT` once more; if that is still the same credential
    /// and a rotation is in progress (`AWSPENDING` on another version with a value), `call` runs
    /// with the `AWSPENDING` credential instead: between a rotation's `setSecret` and
    /// `finishSecret` that is the one the target accepts. Otherwise it runs with the credential
    /// read last. When a *different* fresh credential is refused too (the first one was two or
    /// more rotations old, and a single-user rotation is between its `setSecret` and
    /// `finishSecret`), the same is done once more from that credential. So `call` runs at most
    /// three times, and the last try succeeds unless the target changed during the retries.
    pub fn with_credential<T, E>(
        &self,
        id: &SecretId,
        mut call: impl FnMut(&GetSecretValueOutput) -> Result<T, Attempt<E>>,
    ) -> Result<T, CredentialError<E>> {
        let first = self.get_secret_value(id).map_err(CredentialError::Read)?;
        match call(first.output()) {
            Ok(t) => return Ok(t),
            Err(Attempt::Failed(e)) => return Err(CredentialError::Failed(e)),
            Err(Attempt::AuthFailed(_)) => {}
        }
        let mut refused = first;
        let mut refreshes = 0;
        loop {
            refreshes += 1;
            self.inner.invalidate_secret(storage_key(refused.output()));
            let fresh = self.get_secret_value(id).map_err(CredentialError::Read)?;
            let (retry, last) = if fresh.value() == refused.value() {
                (self.pending_fallback(id, &refused, fresh)?, true)
            } else {
                (fresh, refreshes >= 2)
            };
            match call(retry.output()) {
                Ok(t) => return Ok(t),
                Err(Attempt::Failed(e)) => return Err(CredentialError::Failed(e)),
                Err(Attempt::AuthFailed(e)) if last => return Err(CredentialError::AuthFailed(e)),
                Err(Attempt::AuthFailed(_)) => refused = retry,
            }
        }
    }

    /// The credential to retry with when a fresh read of `AWSCURRENT` (`fresh`) gave back the
    /// `refused` one: `AWSPENDING` while a rotation is in progress, else `AWSCURRENT` read last.
    fn pending_fallback<E>(
        &self,
        id: &SecretId,
        refused: &CachedSecret,
        fresh: CachedSecret,
    ) -> Result<CachedSecret, CredentialError<E>> {
        // `AWSPENDING` is the accepted credential only if it is read *before* an `AWSCURRENT`
        // read that still returns the refused one: read after, it may belong to the next
        // rotation (its placeholder, or a value its `setSecret` has not set yet), because the
        // rotation in progress may have finished in between. So `AWSPENDING` first, then
        // `AWSCURRENT` once more (from the source, after the `AWSPENDING` read).
        let pending = match self.get(id, &VersionSelector::PENDING) {
            Ok(pending) => Some(pending),
            Err(e) if e.kind() == ErrorKind::ResourceNotFound => None,
            Err(e) => return Err(CredentialError::Read(e)),
        };
        self.inner.invalidate_secret(storage_key(fresh.output()));
        let again = self.get_secret_value(id).map_err(CredentialError::Read)?;
        Ok(match pending {
            Some(pending)
                if again.value() == refused.value()
                    && pending.version_id() != again.version_id() =>
            {
                pending
            }
            // No rotation in progress (the fresh credential is the one that just failed),
            // or it finished meanwhile (the fresh credential is the new one).
            _ => again,
        })
    }
}
