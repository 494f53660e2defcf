//! Access tokens (HS256 JWT) and opaque refresh tokens.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode, errors::ErrorKind};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::error::{AppError, AppResult, ErrorCode};

const ISSUER: &str = "tongban";
const AUDIENCE: &str = "tongban-api";

/// Claims of an access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// User id.
    pub sub: Uuid,
    /// Expiry (unix seconds).
    pub exp: i64,
    /// Issued at.
    pub iat: i64,
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
    /// Token id.
    pub jti: Uuid,
    /// The user's auth epoch when issued; a password change or disable bumps it.
    pub ep: i32,
    /// For an API client's token: the permissions it may use (a subset of its account's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scp: Option<Vec<String>>,
    /// The session (sign-in) the token belongs to; revoking the session ends the token at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<Uuid>,
    /// How the session was authenticated (RFC 8176 style: `pwd`, `otp`, `oidc`, `cas`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
}

/// What an access token is issued for.
#[derive(Debug, Clone, Default)]
pub struct Grant {
    /// The session, for sign-ins.
    pub sid: Option<Uuid>,
    /// Authentication methods of the session.
    pub amr: Vec<String>,
    /// Permissions of an API client's token.
    pub scp: Option<Vec<String>>,
}

/// Keys for signing and checking access tokens.
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    seal: [u8; 32],
}

impl JwtKeys {
    /// Keys from a secret of at least 32 bytes.
    pub fn from_secret(secret: &[u8]) -> JwtKeys {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        validation.leeway = 5;
        // A key of its own for sealing secrets at rest (TOTP), derived so that backups of the
        // key file carry it: HMAC-SHA256(secret, purpose).
        let seal = {
            use hmac::{Hmac, Mac};
            let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
            mac.update(b"tongban/seal/v1");
            mac.finalize().into_bytes().into()
        };
        JwtKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            seal,
        }
    }

    /// The key for secrets sealed at rest.
    pub fn seal_key(&self) -> &[u8; 32] {
        &self.seal
    }

    /// Load the secret from `<data_dir>/jwt.key`, creating it (random, mode 0600) when missing.
    pub fn load_or_create(data_dir: &Path) -> anyhow::Result<Vec<u8>> {
        let path = data_dir.join("jwt.key");
        if let Ok(text) = std::fs::read_to_string(&path) {
            let bytes = URL_SAFE_NO_PAD.decode(text.trim())?;
            anyhow::ensure!(bytes.len() >= 32, "{} holds fewer than 32 bytes", path.display());
            return Ok(bytes);
        }
        std::fs::create_dir_all(data_dir)?;
        let bytes = random_bytes::<64>()?;
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        match opts.open(&path) {
            Ok(mut f) => {
                use std::io::Write;
                f.write_all(URL_SAFE_NO_PAD.encode(bytes).as_bytes())?;
                Ok(bytes.to_vec())
            }
            // Another process created it first: use theirs.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Self::load_or_create(data_dir),
            Err(e) => Err(e.into()),
        }
    }

    /// Sign an access token.
    pub fn issue(&self, user_id: Uuid, epoch: i32, ttl_secs: i64, grant: Grant) -> AppResult<String> {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: user_id,
            exp: now + ttl_secs,
            iat: now,
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            jti: Uuid::now_v7(),
            ep: epoch,
            scp: grant.scp,
            sid: grant.sid,
            amr: grant.amr,
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| AppError::Internal(anyhow::anyhow!("jwt encode: {e}")))
    }

    /// Check an access token: signature, algorithm (HS256 only), issuer, audience and expiry.
    pub fn verify(&self, token: &str) -> AppResult<Claims> {
        decode::<Claims>(token, &self.decoding, &self.validation).map(|d| d.claims).map_err(|e| match e.kind() {
            ErrorKind::ExpiredSignature => AppError::code(ErrorCode::TokenExpired),
            _ => AppError::code(ErrorCode::TokenInvalid),
        })
    }
}

/// Cryptographically random bytes from the OS.
pub fn random_bytes<const N: usize>() -> anyhow::Result<[u8; N]> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).map_err(|e| anyhow::anyhow!("getrandom: {e}"))?;
    Ok(b)
}

/// A new opaque refresh token (256 bits, base64url).
pub fn new_refresh_token() -> AppResult<String> {
    Ok(URL_SAFE_NO_PAD.encode(random_bytes::<32>()?))
}

/// The stored form of a refresh token.
pub fn hash_refresh_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_reject_other_keys_and_alg_none() {
        let keys = JwtKeys::from_secret(&[7u8; 64]);
        let id = Uuid::now_v7();
        let sid = Uuid::now_v7();
        let grant = Grant { sid: Some(sid), amr: vec!["pwd".into()], scp: None };
        let t = keys.issue(id, 3, 60, grant.clone()).expect("issue");
        let c = keys.verify(&t).expect("verify");
        assert_eq!(c.sub, id);
        assert_eq!(c.ep, 3);
        assert_eq!(c.sid, Some(sid));
        assert_eq!(c.amr, ["pwd"]);

        let other = JwtKeys::from_secret(&[8u8; 64]);
        assert_eq!(other.verify(&t).err().map(|e| e.error_code()), Some(ErrorCode::TokenInvalid));

        // alg: none with the same claims.
        let mut parts = t.split('.');
        let _ = parts.next();
        let payload = parts.next().expect("payload");
        let none = format!("{}.{}.", URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#), payload);
        assert_eq!(keys.verify(&none).err().map(|e| e.error_code()), Some(ErrorCode::TokenInvalid));

        let expired = keys.issue(id, 3, -3600, grant).expect("issue");
        assert_eq!(keys.verify(&expired).err().map(|e| e.error_code()), Some(ErrorCode::TokenExpired));
    }

    #[test]
    fn refresh_tokens_are_random_and_hashed() {
        let a = new_refresh_token().expect("a");
        let b = new_refresh_token().expect("b");
        assert_ne!(a, b);
        assert_eq!(hash_refresh_token(&a).len(), 64);
        assert_ne!(hash_refresh_token(&a), a);
    }
}
