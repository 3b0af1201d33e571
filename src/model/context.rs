use std::fmt;

use crate::error::{Error, Result};
use crate::model::Region;

/// Who an operation runs for. Audit entries and access policies are keyed by it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Principal(String);

impl Principal {
    /// The name of [`Principal::system`].
    pub const SYSTEM_NAME: &'static str = "strongroom:system";

    /// A named principal (1..=256 characters, no control characters).
    pub fn new(name: impl Into<String>) -> Result<Self> {
        let name = name.into();
        let len = name.chars().count();
        if len == 0 || len > 256 || name.chars().any(char::is_control) {
            return Err(Error::invalid_parameter(
                "A principal name must be 1 to 256 characters without control characters.",
            ));
        }
        Ok(Self(name))
    }

    /// The embedding application itself, for single-tenant use where there is no other caller.
    pub fn system() -> Self {
        Self(Self::SYSTEM_NAME.to_owned())
    }

    /// The principal's name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The id of one request, as sent back in `x-amzn-RequestId`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RequestId(String);

impl RequestId {
    /// A fresh random request id (UUIDv4 form).
    pub fn random() -> Self {
        Self(crate::model::VersionId::random().as_str().to_owned())
    }

    /// A request id chosen by the caller (1..=128 printable characters).
    pub fn new(id: impl Into<String>) -> Result<Self> {
        let id = id.into();
        if id.is_empty() || id.len() > 128 || id.chars().any(char::is_control) {
            return Err(Error::invalid_parameter(
                "A request id must be 1 to 128 characters without control characters.",
            ));
        }
        Ok(Self(id))
    }

    /// The id as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// On whose behalf, under which request id, and in which region an operation runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestContext {
    principal: Principal,
    request_id: RequestId,
    region: Option<Region>,
}

impl RequestContext {
    /// A context for `principal` with a fresh request id, in the store's default region.
    pub fn new(principal: Principal) -> Self {
        Self {
            principal,
            request_id: RequestId::random(),
            region: None,
        }
    }

    /// The system principal with a fresh request id.
    pub fn system() -> Self {
        Self::new(Principal::system())
    }

    /// Uses `request_id` instead of a random one.
    #[must_use]
    pub fn with_request_id(mut self, request_id: RequestId) -> Self {
        self.request_id = request_id;
        self
    }

    /// Runs in `region` instead of the store's default region. Each region is its own namespace.
    #[must_use]
    pub fn with_region(mut self, region: Region) -> Self {
        self.region = Some(region);
        self
    }

    /// The principal.
    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    /// The request id.
    pub fn request_id(&self) -> &RequestId {
        &self.request_id
    }

    /// The region override, if any.
    pub fn region(&self) -> Option<&Region> {
        self.region.as_ref()
    }
}
