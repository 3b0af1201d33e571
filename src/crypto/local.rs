use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use zeroize::Zeroize;

use super::{DataKey, KeyId, KeyProvider, ProviderError, WrappedKey, fingerprint, open, seal};

/// A 256-bit master key held in memory, wiped on drop.
pub(crate) struct MasterKey {
    id: KeyId,
    key: DataKey,
}

impl MasterKey {
    pub(crate) fn new(prefix: &str, key: DataKey) -> Result<Self, ProviderError> {
        let print = fingerprint(&key).map_err(|_| {
            ProviderError::Other("the master key could not be fingerprinted".into())
        })?;
        let id = KeyId::new(format!("{prefix}:{}", crate::hex::encode(&print)));
        Ok(Self { id, key })
    }

    /// A master key with a chosen id.
    #[cfg(any(test, feature = "test-util"))]
    pub(crate) fn with_id(id: KeyId, key: DataKey) -> Self {
        Self { id, key }
    }

    fn aad(&self, aad: &[u8]) -> Vec<u8> {
        let mut a = Vec::with_capacity(aad.len() + self.id.as_str().len() + 24);
        a.extend_from_slice(b"strongroom/wrap\0");
        a.extend_from_slice(&(self.id.as_str().len() as u64).to_le_bytes());
        a.extend_from_slice(self.id.as_str().as_bytes());
        a.extend_from_slice(aad);
        a
    }

    /// nonce (24 bytes) followed by the sealed 32-byte key and its 16-byte tag.
    fn wrap(&self, key: &DataKey, aad: &[u8]) -> Result<WrappedKey, ProviderError> {
        let s = seal(&self.key, &self.aad(aad), key.expose())
            .map_err(|_| ProviderError::Other("the master key could not seal a data key".into()))?;
        let mut bytes = Vec::with_capacity(24 + s.ciphertext.len());
        bytes.extend_from_slice(&s.nonce);
        bytes.extend_from_slice(&s.ciphertext);
        Ok(WrappedKey {
            key_id: self.id.clone(),
            bytes,
        })
    }

    fn unwrap(&self, wrapped: &WrappedKey, aad: &[u8]) -> Result<DataKey, ProviderError> {
        if wrapped.bytes.len() != 24 + 32 + 16 {
            return Err(ProviderError::Rejected);
        }
        let (nonce, ct) = wrapped.bytes.split_at(24);
        let nonce: [u8; 24] = nonce.try_into().map_err(|_| ProviderError::Rejected)?;
        let plain =
            open(&self.key, &self.aad(aad), &nonce, ct).map_err(|_| ProviderError::Rejected)?;
        DataKey::try_from_slice(&plain).ok_or(ProviderError::Rejected)
    }
}

/// A set of master keys: the current one plus retired ones kept for unwrapping.
pub(crate) struct KeyRing {
    current: KeyId,
    keys: BTreeMap<KeyId, MasterKey>,
}

impl KeyRing {
    pub(crate) fn new(current: MasterKey) -> Self {
        let id = current.id.clone();
        let mut keys = BTreeMap::new();
        keys.insert(id.clone(), current);
        Self { current: id, keys }
    }

    fn add(&mut self, key: MasterKey) {
        self.keys.entry(key.id.clone()).or_insert(key);
    }

    pub(crate) fn current(&self) -> KeyId {
        self.current.clone()
    }

    pub(crate) fn wrap(
        &self,
        id: &KeyId,
        key: &DataKey,
        aad: &[u8],
    ) -> Result<WrappedKey, ProviderError> {
        let mk = self
            .keys
            .get(id)
            .ok_or_else(|| ProviderError::UnknownKey(id.clone()))?;
        mk.wrap(key, aad)
    }

    pub(crate) fn unwrap(
        &self,
        wrapped: &WrappedKey,
        aad: &[u8],
    ) -> Result<DataKey, ProviderError> {
        let mk = self
            .keys
            .get(&wrapped.key_id)
            .ok_or_else(|| ProviderError::UnknownKey(wrapped.key_id.clone()))?;
        mk.unwrap(wrapped, aad)
    }

    pub(crate) fn has(&self, id: &KeyId) -> bool {
        self.keys.contains_key(id)
    }

    fn ids(&self) -> Vec<&KeyId> {
        self.keys.keys().collect()
    }
}

/// A master key kept in a local file of exactly 32 random bytes.
///
/// [`LocalKeyProvider::open`] creates the file with mode `0600` when it is absent, and refuses a
/// file that its group or others can read or write. Older key files can be added with
/// [`LocalKeyProvider::with_previous_key_file`] so values wrapped under them still open.
pub struct LocalKeyProvider {
    ring: KeyRing,
    path: PathBuf,
}

impl LocalKeyProvider {
    /// Opens the key file at `path`, creating it (mode `0600`, 32 random bytes) if it does not exist.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, ProviderError> {
        let path = path.as_ref().to_path_buf();
        match fs::symlink_metadata(&path) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => create_key_file(&path)?,
            Err(source) => return Err(ProviderError::Io { path, source }),
        }
        let key = read_key_file(&path)?;
        Ok(Self {
            ring: KeyRing::new(MasterKey::new("local", key)?),
            path,
        })
    }

    /// Opens an existing key file; never creates one.
    pub fn open_existing(path: impl AsRef<Path>) -> Result<Self, ProviderError> {
        let path = path.as_ref().to_path_buf();
        let key = read_key_file(&path)?;
        Ok(Self {
            ring: KeyRing::new(MasterKey::new("local", key)?),
            path,
        })
    }

    /// Also accepts data keys wrapped under the (retired) master key in `path`.
    pub fn with_previous_key_file(mut self, path: impl AsRef<Path>) -> Result<Self, ProviderError> {
        let key = read_key_file(path.as_ref())?;
        self.ring.add(MasterKey::new("local", key)?);
        Ok(self)
    }

    /// The key file this provider's current key came from.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn create_key_file(path: &Path) -> Result<(), ProviderError> {
    let io = |source| ProviderError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut key = [0u8; 32];
    rand::Rng::fill_bytes(&mut rand::rng(), &mut key);
    let written = (|| {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)?;
        f.write_all(&key)?;
        f.sync_all()?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::File::open(dir)?.sync_all()?;
        }
        Ok(())
    })();
    key.zeroize();
    written.map_err(io)
}

fn read_key_file(path: &Path) -> Result<DataKey, ProviderError> {
    let bad = |reason: &str| ProviderError::KeyFile {
        path: path.to_path_buf(),
        reason: reason.to_owned(),
    };
    let io = |source| ProviderError::Io {
        path: path.to_path_buf(),
        source,
    };
    // Open once and check what was opened, so the file cannot be swapped between check and read.
    let mut f = fs::File::open(path).map_err(io)?;
    let meta = f.metadata().map_err(io)?;
    if !meta.is_file() {
        return Err(bad("not a regular file"));
    }
    let mode = meta.permissions().mode();
    if mode & 0o077 != 0 {
        return Err(bad(&format!(
            "mode {:o} lets the group or others access the master key; run chmod 600 on it",
            mode & 0o777
        )));
    }
    if meta.len() != 32 {
        return Err(bad(&format!(
            "holds {} bytes; a key file holds exactly 32",
            meta.len()
        )));
    }
    let mut buf = zeroize::Zeroizing::new(Vec::with_capacity(33));
    Read::by_ref(&mut f)
        .take(33)
        .read_to_end(&mut buf)
        .map_err(io)?;
    DataKey::try_from_slice(&buf).ok_or_else(|| bad("changed size while being read"))
}

impl KeyProvider for LocalKeyProvider {
    fn current_key_id(&self) -> KeyId {
        self.ring.current()
    }

    fn wrap_key(
        &self,
        key_id: &KeyId,
        key: &DataKey,
        aad: &[u8],
    ) -> Result<WrappedKey, ProviderError> {
        self.ring.wrap(key_id, key, aad)
    }

    fn unwrap_key(&self, wrapped: &WrappedKey, aad: &[u8]) -> Result<DataKey, ProviderError> {
        self.ring.unwrap(wrapped, aad)
    }

    fn has_key(&self, key_id: &KeyId) -> bool {
        self.ring.has(key_id)
    }
}

impl fmt::Debug for LocalKeyProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalKeyProvider")
            .field("path", &self.path)
            .field("key_ids", &self.ring.ids())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::provider::conformance;

    #[test]
    fn creates_a_private_key_file_and_passes_conformance() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        let p = LocalKeyProvider::open(&path).unwrap();
        let meta = fs::metadata(&path).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        assert_eq!(meta.len(), 32);
        conformance::check(&p);
        // Reopening reads the same key.
        let again = LocalKeyProvider::open(&path).unwrap();
        assert_eq!(again.current_key_id(), p.current_key_id());
        let k = DataKey::generate();
        let w = p.wrap_key(&p.current_key_id(), &k, b"x").unwrap();
        assert_eq!(again.unwrap_key(&w, b"x").unwrap().expose(), k.expose());
    }

    #[test]
    fn refuses_readable_or_malformed_key_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        LocalKeyProvider::open(&path).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let e = LocalKeyProvider::open(&path).unwrap_err();
        assert!(e.to_string().contains("chmod 600"), "{e}");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        fs::write(&path, [1u8; 31]).unwrap();
        assert!(
            LocalKeyProvider::open(&path)
                .unwrap_err()
                .to_string()
                .contains("exactly 32")
        );
        assert!(LocalKeyProvider::open_existing(dir.path().join("absent")).is_err());
    }

    #[test]
    fn previous_keys_still_unwrap() {
        let dir = tempfile::tempdir().unwrap();
        let old = LocalKeyProvider::open(dir.path().join("old")).unwrap();
        let k = DataKey::generate();
        let w = old.wrap_key(&old.current_key_id(), &k, b"a").unwrap();
        let new = LocalKeyProvider::open(dir.path().join("new")).unwrap();
        assert!(new.unwrap_key(&w, b"a").is_err());
        let new = new.with_previous_key_file(dir.path().join("old")).unwrap();
        assert_ne!(new.current_key_id(), old.current_key_id());
        assert_eq!(new.unwrap_key(&w, b"a").unwrap().expose(), k.expose());
    }
}
