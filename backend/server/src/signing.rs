//! Signatures of electronic certificates: Ed25519 over the RFC 8785 (JCS) canonical form of the
//! certificate JSON.
//!
//! A signed document is `{"certificate": {…, "kid": K}, "signature": {"alg": "EdDSA", "kid": K,
//! "value": base64url}}`; the signature covers the canonical bytes of `certificate`, which names
//! its key, so the key id cannot be swapped. Keys live in a directory (`<data dir>/signing` unless
//! configured), one file per key with mode 0600, plus `active` naming the key that signs. Rotation
//! adds a key and makes it active; older keys stay and keep verifying what they signed. The public
//! half of every key is published as a JWK set (RFC 8037) at `/.well-known/tongban-keys.json`,
//! which is also what `tongban verify --keys` reads offline.

use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

/// One key: its id, public half, when it was made and, where this server holds it, the private half.
pub struct Key {
    /// Key id: base64url of the first 9 bytes of the SHA-256 of the public key.
    pub kid: String,
    /// The public key.
    pub verifying: VerifyingKey,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    signing: Option<SigningKey>,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key").field("kid", &self.kid).field("created_at", &self.created_at).finish_non_exhaustive()
    }
}

/// What is stored per key.
#[derive(Serialize, Deserialize)]
struct KeyFile {
    kid: String,
    /// The 32-byte seed, base64url.
    seed: String,
    created_at: DateTime<Utc>,
}

/// The keys known to this server, and which one signs.
#[derive(Debug)]
pub struct KeyRing {
    keys: Vec<Key>,
    active: Option<String>,
}

/// Why a document does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// Not `{certificate, signature}` with the fields this format has.
    #[error("not a signed certificate: {0}")]
    Malformed(String),
    /// Signed by a key this ring does not know.
    #[error("unknown signing key {0}")]
    UnknownKey(String),
    /// The signature does not match the certificate.
    #[error("the signature does not match the certificate")]
    BadSignature,
}

fn kid_of(v: &VerifyingKey) -> String {
    URL_SAFE_NO_PAD.encode(&Sha256::digest(v.as_bytes())[..9])
}

/// The canonical (RFC 8785) bytes of a JSON value.
pub fn canonical(v: &Value) -> Result<Vec<u8>, VerifyError> {
    serde_jcs::to_vec(v).map_err(|e| VerifyError::Malformed(e.to_string()))
}

fn write_private(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    use std::io::Write;
    opts.open(path)?.write_all(contents)?;
    Ok(())
}

impl KeyRing {
    /// A ring of public keys only (for verifying), from a JWK set as published.
    pub fn from_jwks(jwks: &Value) -> anyhow::Result<KeyRing> {
        let mut keys = Vec::new();
        for k in jwks["keys"].as_array().ok_or_else(|| anyhow::anyhow!("no \"keys\" array"))? {
            anyhow::ensure!(k["kty"] == "OKP" && k["crv"] == "Ed25519", "only Ed25519 keys are known");
            let x = URL_SAFE_NO_PAD.decode(k["x"].as_str().unwrap_or_default())?;
            let bytes: [u8; 32] = x.try_into().map_err(|_| anyhow::anyhow!("a key is not 32 bytes"))?;
            let verifying = VerifyingKey::from_bytes(&bytes)?;
            let kid = kid_of(&verifying);
            anyhow::ensure!(k["kid"] == kid.as_str(), "key id {} does not match its key", k["kid"]);
            let created_at = k["created_at"].as_str().and_then(|s| s.parse().ok()).unwrap_or_default();
            keys.push(Key { kid, verifying, created_at, signing: None });
        }
        Ok(KeyRing { keys, active: None })
    }

    /// Load the keys in `dir`, creating the directory and a first key when there is none. Of
    /// several instances starting at once on a shared directory exactly one key becomes active.
    pub fn load_or_create(dir: &Path) -> anyhow::Result<KeyRing> {
        let ring = Self::load(dir)?;
        if ring.active.is_some() {
            return Ok(ring);
        }
        let kid = Self::new_key(dir)?;
        match write_private(&dir.join("active"), kid.as_bytes()) {
            Ok(()) => {}
            // Another instance made the first key meanwhile: use theirs, drop ours unused.
            Err(e)
                if e.downcast_ref::<std::io::Error>()
                    .is_some_and(|e| e.kind() == std::io::ErrorKind::AlreadyExists) =>
            {
                let _ = std::fs::remove_file(dir.join(format!("{kid}.key")));
            }
            Err(e) => return Err(e),
        }
        Self::load(dir)
    }

    /// Load the keys in `dir` (none when it does not exist).
    pub fn load(dir: &Path) -> anyhow::Result<KeyRing> {
        let mut keys = Vec::new();
        if dir.is_dir() {
            for entry in std::fs::read_dir(dir)? {
                let path = entry?.path();
                if path.extension().and_then(|e| e.to_str()) != Some("key") {
                    continue;
                }
                let f: KeyFile = serde_json::from_slice(&std::fs::read(&path)?)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
                let seed: [u8; 32] = URL_SAFE_NO_PAD
                    .decode(&f.seed)?
                    .try_into()
                    .map_err(|_| anyhow::anyhow!("{}: the seed is not 32 bytes", path.display()))?;
                let signing = SigningKey::from_bytes(&seed);
                let verifying = signing.verifying_key();
                anyhow::ensure!(kid_of(&verifying) == f.kid, "{}: key id does not match the key", path.display());
                keys.push(Key { kid: f.kid, verifying, created_at: f.created_at, signing: Some(signing) });
            }
        }
        keys.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.kid.cmp(&b.kid)));
        let active = match std::fs::read_to_string(dir.join("active")) {
            Ok(s) => {
                let kid = s.trim().to_owned();
                anyhow::ensure!(
                    keys.iter().any(|k| k.kid == kid),
                    "the active key {kid} is missing from {}",
                    dir.display()
                );
                Some(kid)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(e.into()),
        };
        Ok(KeyRing { keys, active })
    }

    /// Make a new key and let it sign from now on; returns its id. Older keys stay for verifying.
    pub fn rotate(dir: &Path) -> anyhow::Result<String> {
        let kid = Self::new_key(dir)?;
        // Replace `active` atomically, so a reader never sees it half written.
        let tmp: PathBuf = dir.join(format!(".active.{kid}"));
        std::fs::write(&tmp, &kid)?;
        std::fs::rename(&tmp, dir.join("active"))?;
        Ok(kid)
    }

    /// Write a new key file (not yet active); returns its id.
    fn new_key(dir: &Path) -> anyhow::Result<String> {
        std::fs::create_dir_all(dir)?;
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
        let signing = SigningKey::from_bytes(&seed);
        let kid = kid_of(&signing.verifying_key());
        let file = KeyFile { kid: kid.clone(), seed: URL_SAFE_NO_PAD.encode(seed), created_at: Utc::now() };
        write_private(&dir.join(format!("{kid}.key")), &serde_json::to_vec_pretty(&file)?)?;
        Ok(kid)
    }

    /// The key that signs, if this ring holds one.
    pub fn active(&self) -> Option<&Key> {
        let kid = self.active.as_deref()?;
        self.keys.iter().find(|k| k.kid == kid)
    }

    /// Every key, oldest first.
    pub fn keys(&self) -> &[Key] {
        &self.keys
    }

    /// Sign a certificate: its `kid` is set to the active key's, then its canonical form is signed.
    pub fn sign(&self, certificate: Map<String, Value>) -> anyhow::Result<Value> {
        let key = self.active().ok_or_else(|| anyhow::anyhow!("no active signing key"))?;
        let signing = key.signing.as_ref().ok_or_else(|| anyhow::anyhow!("the active key has no private half"))?;
        let mut certificate = certificate;
        certificate.insert("kid".into(), Value::String(key.kid.clone()));
        let certificate = Value::Object(certificate);
        let bytes = canonical(&certificate).map_err(|e| anyhow::anyhow!("{e}"))?;
        let sig = signing.sign(&bytes);
        Ok(json!({
            "certificate": certificate,
            "signature": { "alg": "EdDSA", "kid": key.kid, "value": URL_SAFE_NO_PAD.encode(sig.to_bytes()) },
        }))
    }

    /// Check a signed document; returns its certificate when the signature holds.
    pub fn verify<'a>(&self, doc: &'a Value) -> Result<&'a Map<String, Value>, VerifyError> {
        let malformed = |m: &str| VerifyError::Malformed(m.to_owned());
        let certificate =
            doc.get("certificate").and_then(Value::as_object).ok_or_else(|| malformed("no certificate"))?;
        let sig = doc.get("signature").and_then(Value::as_object).ok_or_else(|| malformed("no signature"))?;
        if sig.get("alg").and_then(Value::as_str) != Some("EdDSA") {
            return Err(malformed("the algorithm is not EdDSA"));
        }
        let kid = sig.get("kid").and_then(Value::as_str).ok_or_else(|| malformed("no key id"))?;
        if certificate.get("kid").and_then(Value::as_str) != Some(kid) {
            return Err(malformed("the certificate names another key"));
        }
        let value = sig.get("value").and_then(Value::as_str).ok_or_else(|| malformed("no signature value"))?;
        let bytes: [u8; 64] =
            URL_SAFE_NO_PAD.decode(value).ok().and_then(|b| b.try_into().ok()).ok_or(VerifyError::BadSignature)?;
        let key = self.keys.iter().find(|k| k.kid == kid).ok_or_else(|| VerifyError::UnknownKey(kid.to_owned()))?;
        let canonical = canonical(&Value::Object(certificate.clone()))?;
        key.verifying
            .verify_strict(&canonical, &Signature::from_bytes(&bytes))
            .map_err(|_| VerifyError::BadSignature)?;
        Ok(certificate)
    }

    /// The public keys as a JWK set (RFC 8037), with each key's status.
    pub fn jwks(&self) -> Value {
        let keys: Vec<Value> = self
            .keys
            .iter()
            .map(|k| {
                json!({
                    "kty": "OKP",
                    "crv": "Ed25519",
                    "alg": "EdDSA",
                    "use": "sig",
                    "kid": k.kid,
                    "x": URL_SAFE_NO_PAD.encode(k.verifying.as_bytes()),
                    "status": if Some(&k.kid) == self.active.as_ref() { "active" } else { "retired" },
                    "created_at": k.created_at,
                })
            })
            .collect();
        json!({ "keys": keys })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir() -> PathBuf {
        std::env::temp_dir().join(format!("tongban-signing-{}", uuid::Uuid::now_v7().simple()))
    }

    fn sample() -> Map<String, Value> {
        let v = json!({ "type": "enrolment", "number": "ZM-2026-000017", "holder": { "name": "林晓", "student_no": "2024010101" },
                         "body": "兹证明林晓同学系我院 2024 级在读学生。", "issued_at": "2026-11-28T08:00:00Z" });
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn a_signed_certificate_verifies_and_any_flipped_byte_fails() {
        let d = dir();
        let ring = KeyRing::load_or_create(&d).expect("ring");
        let doc = ring.sign(sample()).expect("sign");
        assert!(ring.verify(&doc).is_ok());

        // Change the payload: one character of the body.
        let mut tampered = doc.clone();
        tampered["certificate"]["body"] = json!("兹证明林晓同学系我院 2023 级在读学生。");
        assert_eq!(ring.verify(&tampered), Err(VerifyError::BadSignature));

        // Flip one bit of the signature.
        let mut sig = URL_SAFE_NO_PAD.decode(doc["signature"]["value"].as_str().expect("value")).expect("b64");
        sig[10] ^= 0x01;
        let mut flipped = doc.clone();
        flipped["signature"]["value"] = json!(URL_SAFE_NO_PAD.encode(&sig));
        assert_eq!(ring.verify(&flipped), Err(VerifyError::BadSignature));

        // Key order and whitespace do not matter: the canonical form is signed.
        let reparsed: Value = serde_json::from_str(&serde_json::to_string_pretty(&doc).expect("json")).expect("parse");
        assert!(ring.verify(&reparsed).is_ok());

        // Swapping the key id is caught.
        let mut swapped = doc.clone();
        swapped["signature"]["kid"] = json!("AAAAAAAAAAAA");
        assert!(matches!(ring.verify(&swapped), Err(VerifyError::Malformed(_))));
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn rotation_keeps_old_certificates_verifiable_and_the_published_set_suffices_offline() {
        let d = dir();
        let first = KeyRing::load_or_create(&d).expect("ring");
        let old = first.sign(sample()).expect("sign");
        let new_kid = KeyRing::rotate(&d).expect("rotate");
        let ring = KeyRing::load(&d).expect("reload");
        assert_eq!(ring.active().map(|k| k.kid.as_str()), Some(new_kid.as_str()));
        assert_eq!(ring.keys().len(), 2);
        let new = ring.sign(sample()).expect("sign");
        assert_ne!(old["signature"]["kid"], new["signature"]["kid"]);
        assert!(ring.verify(&old).is_ok(), "the retired key still verifies");
        assert!(ring.verify(&new).is_ok());

        // A verifier holding only the published public keys.
        let jwks = ring.jwks();
        let statuses: Vec<&str> =
            jwks["keys"].as_array().expect("keys").iter().filter_map(|k| k["status"].as_str()).collect();
        assert_eq!(statuses, vec!["retired", "active"]);
        let public = KeyRing::from_jwks(&jwks).expect("public ring");
        assert!(public.verify(&old).is_ok() && public.verify(&new).is_ok());
        assert!(public.sign(sample()).is_err(), "public keys cannot sign");

        // A ring that never knew the key says so.
        let stranger = KeyRing::load_or_create(&dir()).expect("other");
        assert!(matches!(stranger.verify(&new), Err(VerifyError::UnknownKey(_))));

        // A JWK whose id does not match its key is refused.
        let mut forged = jwks.clone();
        forged["keys"][0]["kid"] = forged["keys"][1]["kid"].clone();
        assert!(KeyRing::from_jwks(&forged).is_err());
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn private_key_files_are_readable_by_the_owner_only() {
        let d = dir();
        let ring = KeyRing::load_or_create(&d).expect("ring");
        let kid = ring.active().expect("active").kid.clone();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(d.join(format!("{kid}.key"))).expect("meta").permissions().mode();
            assert_eq!(mode & 0o077, 0, "mode {mode:o}");
        }
        // Loading again finds the same key instead of making a new one.
        assert_eq!(KeyRing::load_or_create(&d).expect("again").active().map(|k| k.kid.clone()), Some(kid));
        let _ = std::fs::remove_dir_all(&d);
    }
}
