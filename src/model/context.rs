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

    /// The name of [`Principal::maintenance`].
    pub const MAINTENANCE_NAME: &'static str = "strongroom:maintenance";

    /// The store's own upkeep (purging secrets whose recovery window ended), as audit entries
    /// name it.
    pub fn maintenance() -> Self {
        Self(Self::MAINTENANCE_NAME.to_owned())
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

/// What a server could tell of a caller, for the audit log: the access key id a request was
/// signed with, the address it came from, its `User-Agent`. All optional; an embedder leaves
/// them out.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CallerInfo {
    /// The access key id of the request's signature.
    pub access_key_id: Option<String>,
    /// The caller's network address.
    pub source_ip: Option<String>,
    /// The caller's `User-Agent`.
    pub user_agent: Option<String>,
}

impl CallerInfo {
    /// Nothing known of the caller.
    pub fn new() -> Self {
        Self::default()
    }

    /// The access key id the request was signed with.
    #[must_use]
    pub fn access_key_id(mut self, id: impl Into<String>) -> Self {
        self.access_key_id = Some(id.into());
        self
    }

    /// The caller's address.
    #[must_use]
    pub fn source_ip(mut self, ip: impl Into<String>) -> Self {
        self.source_ip = Some(ip.into());
        self
    }

    /// The caller's `User-Agent`.
    #[must_use]
    pub fn user_agent(mut self, agent: impl Into<String>) -> Self {
        self.user_agent = Some(agent.into());
        self
    }
}

/// On whose behalf, under which request id, and in which region an operation runs; and, for
/// the audit log, what is known of the caller and which service acted for the principal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestContext {
    principal: Principal,
    request_id: RequestId,
    region: Option<Region>,
    caller: CallerInfo,
    invoked_by: Option<String>,
}

impl RequestContext {
    /// A context for `principal` with a fresh request id, in the store's default region.
    pub fn new(principal: Principal) -> Self {
        Self {
            principal,
            request_id: RequestId::random(),
            region: None,
            caller: CallerInfo::default(),
            invoked_by: None,
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

    /// What is known of the caller (for the audit log).
    #[must_use]
    pub fn with_caller(mut self, caller: CallerInfo) -> Self {
        self.caller = caller;
        self
    }

    /// The service acting for the principal (as CloudTrail's `invokedBy`): a rotation driver,
    /// a maintenance task.
    #[must_use]
    pub fn invoked_by(mut self, service: impl Into<String>) -> Self {
        self.invoked_by = Some(service.into());
        self
    }

    /// What is known of the caller.
    pub fn caller(&self) -> &CallerInfo {
        &self.caller
    }

    /// The service acting for the principal, if any.
    pub fn invoker(&self) -> Option<&str> {
        self.invoked_by.as_deref()
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
