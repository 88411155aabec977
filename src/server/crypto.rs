//! Messages encrypted at rest, with envelope keys.
//!
//! A **master key** (32 bytes: `GLASSCHAT_MASTER_KEY`, or a key file) never
//! touches the database. It wraps the **data keys**, which live in the
//! `encryption_keys` table; the newest is current. Each message body is
//! sealed with XChaCha20-Poly1305 under a data key, with a 24-byte nonce
//! never used before (`message_nonce`) and associated data binding it to
//! its room, seq and key id,
//! so a ciphertext copied into another row does not open.
//!
//! Rotation (`glasschat keys rotate`) adds a data key; running servers pick
//! it up within seconds and re-encrypt older rows in small batches. Key
//! material never reaches logs, errors or the client: the types below print
//! as `[redacted]`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, RwLock};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand_core::{OsRng, RngCore};

pub const KEY_LEN: usize = 32;
pub const NONCE_LEN: usize = 24;

/// The key that wraps the data keys.
#[derive(Clone)]
pub struct MasterKey([u8; KEY_LEN]);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey([redacted])")
    }
}

impl MasterKey {
    /// Base64 of exactly 32 bytes (surrounding whitespace ignored).
    pub fn from_base64(text: &str) -> Option<MasterKey> {
        let bytes = BASE64.decode(text.trim()).ok()?;
        let key: [u8; KEY_LEN] = bytes.try_into().ok()?;
        Some(MasterKey(key))
    }

    pub fn generate() -> MasterKey {
        let mut key = [0u8; KEY_LEN];
        OsRng.fill_bytes(&mut key);
        MasterKey(key)
    }

    pub fn to_base64(&self) -> String {
        BASE64.encode(self.0)
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new((&self.0).into())
    }

    /// Seals a new data key for storage under `id`.
    pub fn wrap(&self, id: i64, data_key: &[u8; KEY_LEN]) -> Result<(Vec<u8>, Vec<u8>), OpenError> {
        let nonce = random_nonce();
        let aad = wrap_aad(id);
        let sealed = self
            .cipher()
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: data_key,
                    aad: &aad,
                },
            )
            .map_err(|_| OpenError::Refused)?;
        Ok((sealed, nonce.to_vec()))
    }

    fn unwrap_key(&self, id: i64, sealed: &[u8], nonce: &[u8]) -> Option<[u8; KEY_LEN]> {
        if nonce.len() != NONCE_LEN {
            return None;
        }
        let aad = wrap_aad(id);
        let plain = self
            .cipher()
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: &aad,
                },
            )
            .ok()?;
        plain.try_into().ok()
    }
}

/// The key of the search index's hashes (`server/search_terms.rs`),
/// derived from the master key and apart from the data keys: the index
/// never needs a message key, and a message key never opens the index.
#[derive(Clone)]
pub struct SearchKey([u8; KEY_LEN]);

impl std::fmt::Debug for SearchKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SearchKey([redacted])")
    }
}

impl SearchKey {
    pub fn derive(master: &MasterKey) -> SearchKey {
        SearchKey(blake3::derive_key(
            "glasschat 2026-12-04 search index key v1",
            &master.0,
        ))
    }

    /// A 32-bit keyed hash of `text` under `tag` (what kind of term it is).
    /// Short on purpose: a collision only costs a decryption that then
    /// fails, and a short hash says less about what it hashes.
    pub fn term(&self, tag: u8, text: &str) -> i32 {
        let mut hasher = blake3::Hasher::new_keyed(&self.0);
        hasher.update(&[tag]);
        hasher.update(text.as_bytes());
        let out = hasher.finalize();
        let bytes = out.as_bytes();
        i32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
    }

    /// Stored beside the index: tells whether it was built with this key.
    pub fn check(&self) -> Vec<u8> {
        blake3::keyed_hash(&self.0, b"glasschat search key check")
            .as_bytes()
            .to_vec()
    }
}

/// Signs what links in emails carry (an unsubscribe link names its
/// account): derived from the master key, so the links work on every node
/// and stop working if the master key changes.
#[derive(Clone)]
pub struct LinkKey([u8; KEY_LEN]);

impl std::fmt::Debug for LinkKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkKey([redacted])")
    }
}

impl LinkKey {
    pub fn derive(master: &MasterKey) -> LinkKey {
        LinkKey(blake3::derive_key(
            "glasschat 2026-12-05 email link signing key v1",
            &master.0,
        ))
    }

    /// The signature of `message` (128 bits of keyed BLAKE3).
    pub fn sign(&self, message: &[u8]) -> [u8; 16] {
        let hash = blake3::keyed_hash(&self.0, message);
        let mut out = [0u8; 16];
        out.copy_from_slice(&hash.as_bytes()[..16]);
        out
    }

    /// Whether `signature` is `message`'s, compared in constant time.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        let expected = self.sign(message);
        signature.len() == expected.len()
            && expected
                .iter()
                .zip(signature)
                .fold(0u8, |diff, (a, b)| diff | (a ^ b))
                == 0
    }
}

fn wrap_aad(id: i64) -> Vec<u8> {
    let mut aad = b"glasschat data key v1:".to_vec();
    aad.extend_from_slice(&id.to_be_bytes());
    aad
}

fn message_aad(room: i64, seq: i64, key_id: i64) -> [u8; 40] {
    let mut aad = [0u8; 40];
    aad[..16].copy_from_slice(b"glasschat msg v1");
    aad[16..24].copy_from_slice(&room.to_be_bytes());
    aad[24..32].copy_from_slice(&seq.to_be_bytes());
    aad[32..].copy_from_slice(&key_id.to_be_bytes());
    aad
}

/// An announcement's messages are bound to their room and seqs: sealed
/// frames copied into another announcement do not open.
fn announcement_aad(room: i64, from: i64, to: i64, key_id: i64) -> [u8; 48] {
    let mut aad = [0u8; 48];
    aad[..16].copy_from_slice(b"glasschat note 1");
    aad[16..24].copy_from_slice(&room.to_be_bytes());
    aad[24..32].copy_from_slice(&from.to_be_bytes());
    aad[32..40].copy_from_slice(&to.to_be_bytes());
    aad[40..].copy_from_slice(&key_id.to_be_bytes());
    aad
}

/// A site's identity secret is bound to the site (its public key) and the
/// data key: a sealed secret copied to another site's row does not open.
fn site_secret_aad(site_key: &str, key_id: i64) -> Vec<u8> {
    let mut aad = b"glasschat site 1".to_vec();
    aad.extend_from_slice(&key_id.to_be_bytes());
    aad.extend_from_slice(site_key.as_bytes());
    aad
}

/// Where a file chunk belongs: its associated data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkPlace {
    pub file: i64,
    pub variant: i64,
    pub index: i64,
    pub last: bool,
}

impl ChunkPlace {
    fn aad(&self, key_id: i64) -> [u8; 49] {
        let mut aad = [0u8; 49];
        aad[..16].copy_from_slice(b"glasschat file 1");
        aad[16..24].copy_from_slice(&self.file.to_be_bytes());
        aad[24..32].copy_from_slice(&self.variant.to_be_bytes());
        aad[32..40].copy_from_slice(&self.index.to_be_bytes());
        aad[40..48].copy_from_slice(&key_id.to_be_bytes());
        aad[48] = u8::from(self.last);
        aad
    }
}

/// A message body's nonce: 16 random bytes drawn once per process, then a
/// 64-bit counter. Unique under a key unless two processes draw the same
/// prefix (odds 2^-128 a pair), without a getrandom system call per message
/// on the writer's hot path; XChaCha20's 192-bit nonce leaves room for both.
fn message_nonce() -> [u8; NONCE_LEN] {
    static PREFIX: LazyLock<[u8; 16]> = LazyLock::new(|| {
        let mut prefix = [0u8; 16];
        OsRng.fill_bytes(&mut prefix);
        prefix
    });
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut nonce = [0u8; NONCE_LEN];
    nonce[..16].copy_from_slice(&*PREFIX);
    nonce[16..].copy_from_slice(&COUNTER.fetch_add(1, Ordering::Relaxed).to_be_bytes());
    nonce
}

fn random_nonce() -> [u8; NONCE_LEN] {
    let mut nonce = [0u8; NONCE_LEN];
    OsRng.fill_bytes(&mut nonce);
    nonce
}

pub fn new_data_key() -> [u8; KEY_LEN] {
    let mut key = [0u8; KEY_LEN];
    OsRng.fill_bytes(&mut key);
    key
}

/// A stored data key, still wrapped.
#[derive(Debug, Clone)]
pub struct WrappedKey {
    pub id: i64,
    pub sealed: Vec<u8>,
    pub nonce: Vec<u8>,
}

/// A message body as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub key_id: i64,
    pub nonce: Vec<u8>,
    pub body: Vec<u8>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum OpenError {
    #[error("no data key {0} is loaded")]
    UnknownKey(i64),
    #[error("the ciphertext does not open (tampered, moved, or another key)")]
    Refused,
}

#[derive(Default)]
struct Keys {
    ciphers: HashMap<i64, XChaCha20Poly1305>,
    current: Option<i64>,
    search: Option<SearchKey>,
    links: Option<LinkKey>,
    vapid: Option<VapidKey>,
}

/// The VAPID key pair (RFC 8292) that signs every push this server sends:
/// derived from the master key, so it exists from the first start, every
/// node has the same one, and browsers' subscriptions (made for its public
/// key) keep working across restarts. A new master key means every device
/// must turn notifications on again.
#[derive(Clone)]
pub struct VapidKey {
    secret: p256::SecretKey,
    /// The secret as PKCS#8 DER, the form jsonwebtoken signs with.
    signing: jsonwebtoken::EncodingKey,
}

impl std::fmt::Debug for VapidKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VapidKey([redacted])")
    }
}

impl VapidKey {
    pub fn derive(master: &MasterKey) -> VapidKey {
        // A P-256 scalar must be below the group order: a 32-byte hash is
        // not with probability about 2^-32, then the next counter is tried.
        let mut counter = 0u8;
        loop {
            let mut hasher = blake3::Hasher::new_derive_key("glasschat 2026-12-05 vapid key v1");
            hasher.update(&master.0);
            hasher.update(&[counter]);
            if let Ok(secret) = p256::SecretKey::from_slice(hasher.finalize().as_bytes()) {
                use p256::pkcs8::EncodePrivateKey;
                if let Ok(der) = secret.to_pkcs8_der() {
                    let signing = jsonwebtoken::EncodingKey::from_ec_der(der.as_bytes());
                    return VapidKey { secret, signing };
                }
            }
            counter = counter.wrapping_add(1);
        }
    }

    /// The public key as browsers take it (`applicationServerKey`): the
    /// uncompressed point, 65 bytes.
    pub fn public_key(&self) -> Vec<u8> {
        use p256::elliptic_curve::sec1::ToEncodedPoint;
        self.secret
            .public_key()
            .to_encoded_point(false)
            .as_bytes()
            .to_vec()
    }

    /// The `Authorization` header of a push to `audience` (the endpoint's
    /// origin), valid until `expires` (seconds since the epoch): `vapid
    /// t=<ES256 JWT>, k=<public key>`.
    pub fn authorization(
        &self,
        audience: &str,
        expires: u64,
        contact: &str,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        #[derive(serde::Serialize)]
        struct Claims<'a> {
            aud: &'a str,
            exp: u64,
            sub: &'a str,
        }
        let token = jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256),
            &Claims {
                aud: audience,
                exp: expires,
                sub: contact,
            },
            &self.signing,
        )?;
        let key = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(self.public_key());
        Ok(format!("vapid t={token}, k={key}"))
    }
}

/// The unwrapped data keys, shared by every clone of the store.
#[derive(Clone, Default)]
pub struct Keyring {
    keys: Arc<RwLock<Keys>>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let keys = self.read();
        f.debug_struct("Keyring")
            .field("key_ids", &keys.ciphers.keys().collect::<Vec<_>>())
            .field("current", &keys.current)
            .finish()
    }
}

impl Keyring {
    /// Unwraps `stored` with `master` and makes them the keyring; the
    /// highest id becomes current. Fails (naming no key material) if any
    /// one does not open: the master key is not this database's.
    pub fn load(&self, master: &MasterKey, stored: &[WrappedKey]) -> Result<(), WrongMasterKey> {
        let mut ciphers = HashMap::with_capacity(stored.len());
        for key in stored {
            let data = master
                .unwrap_key(key.id, &key.sealed, &key.nonce)
                .ok_or(WrongMasterKey { key_id: key.id })?;
            ciphers.insert(key.id, XChaCha20Poly1305::new((&data).into()));
        }
        let mut keys = self.write();
        keys.current = ciphers.keys().max().copied();
        keys.ciphers = ciphers;
        keys.search = Some(SearchKey::derive(master));
        keys.links = Some(LinkKey::derive(master));
        keys.vapid = Some(VapidKey::derive(master));
        Ok(())
    }

    /// The key that signs links in emails; `None` before the keyring is loaded.
    pub fn links(&self) -> Option<LinkKey> {
        self.read().links.clone()
    }

    /// The key that signs pushes; `None` before the keyring is loaded.
    pub fn vapid(&self) -> Option<VapidKey> {
        self.read().vapid.clone()
    }

    /// The search index's key; `None` before the keyring is loaded.
    pub fn search(&self) -> Option<SearchKey> {
        self.read().search.clone()
    }

    pub fn current(&self) -> Option<i64> {
        self.read().current
    }

    pub fn key_ids(&self) -> Vec<i64> {
        let mut ids: Vec<i64> = self.read().ciphers.keys().copied().collect();
        ids.sort_unstable();
        ids
    }

    /// Seals `plain` for the row (room, seq) under the current key.
    pub fn seal(&self, room: i64, seq: i64, plain: &[u8]) -> Result<Sealed, OpenError> {
        self.seal_for(plain, |key_id| message_aad(room, seq, key_id).to_vec())
    }

    /// Opens a stored body. A row without a key id is plaintext from before
    /// encryption (re-encrypted by the background task).
    pub fn open(
        &self,
        room: i64,
        seq: i64,
        key_id: Option<i64>,
        nonce: Option<&[u8]>,
        body: &[u8],
    ) -> Result<Vec<u8>, OpenError> {
        let Some(key_id) = key_id else {
            return Ok(body.to_vec());
        };
        self.open_with(key_id, nonce, body, &message_aad(room, seq, key_id))
    }

    /// Seals one chunk of a file under the current key: the file, the
    /// variant (the upload, its thumbnail or its preview), the chunk's
    /// index and whether it is the last are bound to it, so no chunk can be
    /// moved to another file or place, and none cut off the end.
    pub fn seal_chunk(&self, at: ChunkPlace, plain: &[u8]) -> Result<Sealed, OpenError> {
        self.seal_for(plain, |key_id| at.aad(key_id).to_vec())
    }

    pub fn open_chunk(
        &self,
        at: ChunkPlace,
        key_id: i64,
        nonce: &[u8],
        data: &[u8],
    ) -> Result<Vec<u8>, OpenError> {
        self.open_with(key_id, Some(nonce), data, &at.aad(key_id))
    }

    /// Seals the frames of seqs `from..=to` of `room` that a node announces
    /// to the others (they travel through Postgres's notification queue).
    pub fn seal_announcement(
        &self,
        room: i64,
        from: i64,
        to: i64,
        plain: &[u8],
    ) -> Result<Sealed, OpenError> {
        self.seal_for(plain, |key_id| {
            announcement_aad(room, from, to, key_id).to_vec()
        })
    }

    pub fn open_announcement(
        &self,
        (room, from, to): (i64, i64, i64),
        key_id: i64,
        nonce: &[u8],
        sealed: &[u8],
    ) -> Result<Vec<u8>, OpenError> {
        self.open_with(
            key_id,
            Some(nonce),
            sealed,
            &announcement_aad(room, from, to, key_id),
        )
    }

    /// Seals a website's identity secret (`site_key` is its public key).
    pub fn seal_site_secret(&self, site_key: &str, plain: &[u8]) -> Result<Sealed, OpenError> {
        self.seal_for(plain, |key_id| site_secret_aad(site_key, key_id))
    }

    pub fn open_site_secret(
        &self,
        site_key: &str,
        key_id: i64,
        nonce: &[u8],
        sealed: &[u8],
    ) -> Result<Vec<u8>, OpenError> {
        self.open_with(
            key_id,
            Some(nonce),
            sealed,
            &site_secret_aad(site_key, key_id),
        )
    }

    fn seal_for(
        &self,
        plain: &[u8],
        aad: impl FnOnce(i64) -> Vec<u8>,
    ) -> Result<Sealed, OpenError> {
        let keys = self.read();
        let key_id = keys.current.ok_or(OpenError::UnknownKey(0))?;
        let cipher = keys
            .ciphers
            .get(&key_id)
            .ok_or(OpenError::UnknownKey(key_id))?;
        let nonce = message_nonce();
        let aad = aad(key_id);
        let body = cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plain,
                    aad: &aad,
                },
            )
            .map_err(|_| OpenError::Refused)?;
        Ok(Sealed {
            key_id,
            nonce: nonce.to_vec(),
            body,
        })
    }

    fn open_with(
        &self,
        key_id: i64,
        nonce: Option<&[u8]>,
        body: &[u8],
        aad: &[u8],
    ) -> Result<Vec<u8>, OpenError> {
        let nonce = nonce
            .filter(|n| n.len() == NONCE_LEN)
            .ok_or(OpenError::Refused)?;
        let keys = self.read();
        let cipher = keys
            .ciphers
            .get(&key_id)
            .ok_or(OpenError::UnknownKey(key_id))?;
        cipher
            .decrypt(XNonce::from_slice(nonce), Payload { msg: body, aad })
            .map_err(|_| OpenError::Refused)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Keys> {
        self.keys.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Keys> {
        self.keys.write().unwrap_or_else(|p| p.into_inner())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("data key {key_id} does not open with this master key")]
pub struct WrongMasterKey {
    pub key_id: i64,
}

/// Where the master key comes from.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// `GLASSCHAT_MASTER_KEY`.
    Env(MasterKey),
    /// A file holding the base64 key; `explicit` when named by
    /// `GLASSCHAT_KEY_FILE` (else the default next to the SQLite file).
    File { path: PathBuf, explicit: bool },
    /// Postgres with neither setting: refused at start.
    Missing,
}

#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("cannot read the key file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("the key file {path} does not hold a base64 32-byte key")]
    Malformed { path: String },
    #[error("cannot create the key file {path}: {source}")]
    Create {
        path: String,
        source: std::io::Error,
    },
}

/// Reads a key file; `Ok(None)` when it does not exist.
pub fn read_key_file(path: &Path) -> Result<Option<MasterKey>, KeyFileError> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            MasterKey::from_base64(&text)
                .map(Some)
                .ok_or_else(|| KeyFileError::Malformed {
                    path: path.display().to_string(),
                })
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(KeyFileError::Read {
            path: path.display().to_string(),
            source,
        }),
    }
}

/// Writes a new key file readable by its owner only (mode 0600), refusing
/// to overwrite one that appeared meanwhile.
pub fn create_key_file(path: &Path, key: &MasterKey) -> Result<(), KeyFileError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let err = |source| KeyFileError::Create {
        path: path.display().to_string(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(err)?;
    file.write_all(format!("{}\n", key.to_base64()).as_bytes())
        .and_then(|_| file.sync_all())
        .map_err(err)
}

/// Tests across the crate: a keyring holding data keys `ids` under
/// `master`, and those keys as stored.
#[cfg(test)]
pub(crate) fn test_keyring(master: &MasterKey, ids: &[i64]) -> (Keyring, Vec<WrappedKey>) {
    let stored: Vec<WrappedKey> = ids
        .iter()
        .map(|id| {
            let (sealed, nonce) = master.wrap(*id, &new_data_key()).unwrap();
            WrappedKey {
                id: *id,
                sealed,
                nonce,
            }
        })
        .collect();
    let ring = Keyring::default();
    ring.load(master, &stored).unwrap();
    (ring, stored)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_vapid_key_follows_the_master_key_and_signs_es256() {
        let master = MasterKey::generate();
        let key = VapidKey::derive(&master);
        assert_eq!(key.public_key(), VapidKey::derive(&master).public_key());
        assert_ne!(
            key.public_key(),
            VapidKey::derive(&MasterKey::generate()).public_key()
        );
        assert_eq!(key.public_key().len(), 65);

        let header = key
            .authorization("https://push.example.com", 4_000_000_000, "mailto:a@b.c")
            .unwrap();
        let token = header
            .strip_prefix("vapid t=")
            .and_then(|rest| rest.split(", k=").next())
            .unwrap();
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
        validation.set_audience(&["https://push.example.com"]);
        let verified = jsonwebtoken::decode::<serde_json::Value>(
            token,
            &jsonwebtoken::DecodingKey::from_ec_der(&key.public_key()),
            &validation,
        )
        .unwrap();
        assert_eq!(verified.claims["sub"], "mailto:a@b.c");
    }

    #[test]
    fn a_body_opens_only_in_its_own_row() {
        let (ring, _) = test_keyring(&MasterKey::generate(), &[1]);
        let sealed = ring.seal(7, 42, b"hello").unwrap();
        assert_eq!(sealed.key_id, 1);
        assert_ne!(sealed.body, b"hello");
        let open = |room, seq| ring.open(room, seq, Some(1), Some(&sealed.nonce), &sealed.body);
        assert_eq!(open(7, 42).unwrap(), b"hello");
        assert_eq!(open(7, 43), Err(OpenError::Refused), "another seq");
        assert_eq!(open(8, 42), Err(OpenError::Refused), "another room");
        let mut tampered = sealed.body.clone();
        tampered[0] ^= 1;
        assert_eq!(
            ring.open(7, 42, Some(1), Some(&sealed.nonce), &tampered),
            Err(OpenError::Refused)
        );
        assert_eq!(
            ring.open(7, 42, Some(9), Some(&sealed.nonce), &sealed.body),
            Err(OpenError::UnknownKey(9))
        );
    }

    #[test]
    fn a_file_chunk_opens_only_in_its_own_place() {
        let (ring, _) = test_keyring(&MasterKey::generate(), &[1]);
        let at = ChunkPlace {
            file: 5,
            variant: 0,
            index: 3,
            last: false,
        };
        let sealed = ring.seal_chunk(at, b"chunk").unwrap();
        let open = |at| ring.open_chunk(at, 1, &sealed.nonce, &sealed.body);
        assert_eq!(open(at).unwrap(), b"chunk");
        for moved in [
            ChunkPlace { file: 6, ..at },
            ChunkPlace { variant: 1, ..at },
            ChunkPlace { index: 2, ..at },
            ChunkPlace { last: true, ..at },
        ] {
            assert_eq!(open(moved), Err(OpenError::Refused), "{moved:?}");
        }
    }

    /// Security checklist row 10: no nonce repeats over a million draws,
    /// for message bodies (counted) and for wrapped keys (random).
    #[test]
    fn a_million_nonces_are_all_distinct() {
        for draw in [message_nonce, random_nonce] {
            let mut seen = std::collections::HashSet::with_capacity(1_000_000);
            for _ in 0..1_000_000 {
                assert!(seen.insert(draw()), "a nonce repeated");
            }
        }
    }

    #[test]
    fn nonces_are_fresh_per_seal() {
        let (ring, _) = test_keyring(&MasterKey::generate(), &[1]);
        let a = ring.seal(1, 1, b"same").unwrap();
        let b = ring.seal(1, 1, b"same").unwrap();
        assert_ne!(a.nonce, b.nonce);
        assert_ne!(a.body, b.body);
    }

    #[test]
    fn the_newest_key_is_current_and_old_ones_still_open() {
        let master = MasterKey::generate();
        let (ring, mut stored) = test_keyring(&master, &[1]);
        let old = ring.seal(1, 1, b"old").unwrap();
        let (sealed, nonce) = master.wrap(2, &new_data_key()).unwrap();
        stored.push(WrappedKey {
            id: 2,
            sealed,
            nonce,
        });
        ring.load(&master, &stored).unwrap();
        assert_eq!(ring.current(), Some(2));
        assert_eq!(ring.seal(1, 2, b"new").unwrap().key_id, 2);
        assert_eq!(
            ring.open(1, 1, Some(1), Some(&old.nonce), &old.body)
                .unwrap(),
            b"old"
        );
    }

    #[test]
    fn another_master_key_is_refused_and_nothing_is_printed() {
        let (_, stored) = test_keyring(&MasterKey::generate(), &[1]);
        let other = Keyring::default();
        let err = other.load(&MasterKey::generate(), &stored).unwrap_err();
        assert_eq!(err.key_id, 1);
        let key = MasterKey::generate();
        assert!(!format!("{key:?}").contains(&key.to_base64()));
        assert_eq!(format!("{:?}", MasterKey::from_base64("short")), "None");
    }

    #[test]
    fn key_files_are_private_and_never_overwritten() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("gc-key-{}", std::process::id()));
        let path = dir.join("nested/glasschat.key");
        let key = MasterKey::generate();
        create_key_file(&path, &key).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(
            read_key_file(&path).unwrap().map(|k| k.to_base64()),
            Some(key.to_base64())
        );
        assert!(create_key_file(&path, &MasterKey::generate()).is_err());
        assert!(read_key_file(&dir.join("absent")).unwrap().is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
