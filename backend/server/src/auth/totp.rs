//! TOTP second factor (RFC 6238: SHA-1, 6 digits, 30-second steps, one step of clock skew either
//! way), the secret sealed at rest with XChaCha20-Poly1305. A code is accepted once: the step it
//! matched is stored and no code of that step or an earlier one is taken again.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use totp_rs::{Algorithm, TOTP};

use crate::auth::tokens::random_bytes;
use crate::error::{AppError, AppResult};

/// Seconds per step.
pub const STEP: u64 = 30;
const DIGITS: usize = 6;
const ISSUER: &str = "通办";

/// A new random secret (160 bits, as RFC 4226 recommends).
pub fn new_secret() -> AppResult<Vec<u8>> {
    Ok(random_bytes::<20>().map_err(AppError::Internal)?.to_vec())
}

fn totp(secret: &[u8]) -> AppResult<TOTP> {
    TOTP::new(Algorithm::SHA1, DIGITS, 1, STEP, secret.to_vec())
        .map_err(|e| AppError::Internal(anyhow::anyhow!("totp: {e}")))
}

/// The secret in base32, as authenticator apps take it typed in.
pub fn base32(secret: &[u8]) -> AppResult<String> {
    Ok(totp(secret)?.get_secret_base32())
}

/// The `otpauth://` URI an authenticator app scans (Key Uri Format).
pub fn otpauth_uri(secret: &[u8], account: &str) -> AppResult<String> {
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>().replace('+', "%20");
    Ok(format!(
        "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP}",
        enc(ISSUER),
        enc(account),
        base32(secret)?,
        enc(ISSUER)
    ))
}

/// The step a well-formed `code` matches at `unix_time` (this step, the one before or the one
/// after), if any.
pub fn matching_step(secret: &[u8], code: &str, unix_time: u64) -> AppResult<Option<u64>> {
    let code = code.trim();
    if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    let t = totp(secret)?;
    let now = unix_time / STEP;
    for step in [now.saturating_sub(1), now, now + 1] {
        let expected = t.generate(step * STEP);
        // Constant-time comparison of the six digits.
        let diff = expected.bytes().zip(code.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b));
        if diff == 0 {
            return Ok(Some(step));
        }
    }
    Ok(None)
}

/// The code for `unix_time` (tests and the CLI's self-check).
pub fn code_at(secret: &[u8], unix_time: u64) -> AppResult<String> {
    Ok(totp(secret)?.generate(unix_time))
}

/// Seal a secret: base64url(nonce ‖ ciphertext).
pub fn seal(key: &[u8; 32], secret: &[u8]) -> AppResult<String> {
    let cipher = XChaCha20Poly1305::new(key.into());
    let nonce = random_bytes::<24>().map_err(AppError::Internal)?;
    let ct = cipher
        .encrypt(&XNonce::from(nonce), secret)
        .map_err(|_| AppError::Internal(anyhow::anyhow!("sealing the TOTP secret failed")))?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&ct);
    Ok(URL_SAFE_NO_PAD.encode(out))
}

/// Open a sealed secret; fails when the data or the key is not the one it was sealed with.
pub fn open(key: &[u8; 32], sealed: &str) -> AppResult<Vec<u8>> {
    let bad = || AppError::Internal(anyhow::anyhow!("the stored TOTP secret cannot be opened with this key"));
    let raw = URL_SAFE_NO_PAD.decode(sealed).map_err(|_| bad())?;
    if raw.len() < 24 + 16 {
        return Err(bad());
    }
    let (nonce, ct) = raw.split_at(24);
    let nonce: [u8; 24] = nonce.try_into().map_err(|_| bad())?;
    XChaCha20Poly1305::new(key.into()).decrypt(&XNonce::from(nonce), ct).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6238_sha1_vectors() {
        // RFC 6238 appendix B, SHA-1 seed "12345678901234567890", 8 digits there; the last six here.
        let secret = b"12345678901234567890";
        for (t, eight) in [(59u64, "94287082"), (1_111_111_109, "07081804"), (1_234_567_890, "89005924")] {
            assert_eq!(code_at(secret, t).expect("code"), eight[2..]);
        }
    }

    #[test]
    fn codes_match_their_step_and_neighbours_only() {
        let secret = new_secret().expect("secret");
        let t = 1_800_000_000u64;
        let code = code_at(&secret, t).expect("code");
        assert_eq!(matching_step(&secret, &code, t).expect("check"), Some(t / STEP));
        assert_eq!(matching_step(&secret, &code, t + STEP).expect("check"), Some(t / STEP));
        assert_eq!(matching_step(&secret, &code, t + 3 * STEP).expect("check"), None);
        assert_eq!(matching_step(&secret, "12345", t).expect("check"), None);
        assert_eq!(matching_step(&secret, "abcdef", t).expect("check"), None);
    }

    #[test]
    fn sealed_secrets_open_with_their_key_only() {
        let secret = new_secret().expect("secret");
        let key = [3u8; 32];
        let sealed = seal(&key, &secret).expect("seal");
        assert_ne!(seal(&key, &secret).expect("seal"), sealed, "a fresh nonce each time");
        assert_eq!(open(&key, &sealed).expect("open"), secret);
        assert!(open(&[4u8; 32], &sealed).is_err());
        let mut tampered = URL_SAFE_NO_PAD.decode(&sealed).expect("b64");
        tampered[30] ^= 1;
        assert!(open(&key, &URL_SAFE_NO_PAD.encode(tampered)).is_err());
    }

    #[test]
    fn otpauth_uris_carry_the_base32_secret() {
        assert_eq!(base32(b"12345678901234567890").expect("b32"), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        let uri = otpauth_uri(b"12345678901234567890", "admin").expect("uri");
        assert!(uri.starts_with("otpauth://totp/%E9%80%9A%E5%8A%9E:admin?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&"));
    }
}
