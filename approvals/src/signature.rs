//! Slack request signing, v0: `X-Slack-Signature = "v0=" + hex(HMAC-SHA256(signing secret,
//! "v0:" + X-Slack-Request-Timestamp + ":" + raw body))`, accepted only while the timestamp
//! is within [`MAX_SKEW_SECS`] of now, in either direction (a captured request cannot be
//! replayed later, and a clock far ahead does not buy one a long window).
//!
//! The HMAC covers the raw, still form-encoded bytes: verify before decoding anything.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// How far the request timestamp may be from now, past or future, in seconds.
pub const MAX_SKEW_SECS: u64 = 300;

/// Why a request is not accepted as coming from Slack. The texts name the check that failed
/// and never echo the secret, the expected signature or the body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The service has no signing secret: nothing can be verified.
    #[error("no signing secret is configured")]
    NoSecret,
    #[error("missing X-Slack-Request-Timestamp")]
    MissingTimestamp,
    #[error("X-Slack-Request-Timestamp is not an integer")]
    BadTimestamp,
    #[error("X-Slack-Request-Timestamp is {skew_secs} s away from now (limit {MAX_SKEW_SECS} s)")]
    OutsideWindow { skew_secs: u64 },
    #[error("missing X-Slack-Signature")]
    MissingSignature,
    #[error("X-Slack-Signature is not `v0=` followed by 64 hex digits")]
    MalformedSignature,
    #[error("X-Slack-Signature does not match")]
    Mismatch,
}

/// Checks a Slack request: `timestamp` and `signature` are the raw header values (pass `""`
/// when a header is missing), `body` the raw body bytes, `now_unix` the current time.
pub fn verify(
    secret: &[u8],
    timestamp: &str,
    body: &[u8],
    signature: &str,
    now_unix: i64,
) -> Result<(), SignatureError> {
    if secret.is_empty() {
        return Err(SignatureError::NoSecret);
    }
    if timestamp.is_empty() {
        return Err(SignatureError::MissingTimestamp);
    }
    // Digits only: `i64::from_str` would also take a sign, which Slack never sends.
    if !timestamp.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SignatureError::BadTimestamp);
    }
    let ts: i64 = timestamp
        .parse()
        .map_err(|_| SignatureError::BadTimestamp)?;
    let skew_secs = now_unix.abs_diff(ts);
    if skew_secs > MAX_SKEW_SECS {
        return Err(SignatureError::OutsideWindow { skew_secs });
    }

    if signature.is_empty() {
        return Err(SignatureError::MissingSignature);
    }
    let hex_part = signature
        .strip_prefix("v0=")
        .ok_or(SignatureError::MalformedSignature)?;
    if hex_part.len() != 64 {
        return Err(SignatureError::MalformedSignature);
    }
    let given = hex::decode(hex_part).map_err(|_| SignatureError::MalformedSignature)?;

    let mac = mac(secret, timestamp, body).ok_or(SignatureError::NoSecret)?;
    // Constant-time comparison.
    mac.verify_slice(&given)
        .map_err(|_| SignatureError::Mismatch)
}

/// The `X-Slack-Signature` value Slack would send for this body at this timestamp (for tests
/// and the local demo that plays a click).
pub fn sign(secret: &[u8], timestamp: &str, body: &[u8]) -> String {
    match mac(secret, timestamp, body) {
        Some(mac) => format!("v0={}", hex::encode(mac.finalize().into_bytes())),
        None => String::new(),
    }
}

fn mac(secret: &[u8], timestamp: &str, body: &[u8]) -> Option<HmacSha256> {
    // HMAC takes keys of any length, so this is always `Some`.
    let mut mac = HmacSha256::new_from_slice(secret).ok()?;
    mac.update(b"v0:");
    mac.update(timestamp.as_bytes());
    mac.update(b":");
    mac.update(body);
    Some(mac)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"s3cret";

    #[test]
    fn a_signed_body_verifies_inside_the_window_both_ways() {
        let sig = sign(SECRET, "1000", b"payload=x");
        assert_eq!(verify(SECRET, "1000", b"payload=x", &sig, 1000), Ok(()));
        assert_eq!(verify(SECRET, "1000", b"payload=x", &sig, 1300), Ok(()));
        assert_eq!(verify(SECRET, "1000", b"payload=x", &sig, 700), Ok(()));
        assert_eq!(
            verify(SECRET, "1000", b"payload=x", &sig, 1301),
            Err(SignatureError::OutsideWindow { skew_secs: 301 })
        );
        assert_eq!(
            verify(SECRET, "1000", b"payload=x", &sig, 699),
            Err(SignatureError::OutsideWindow { skew_secs: 301 })
        );
    }

    #[test]
    fn malformed_inputs_are_told_apart() {
        let sig = sign(SECRET, "1000", b"b");
        let v = |ts: &str, s: &str| verify(SECRET, ts, b"b", s, 1000);
        assert_eq!(v("", &sig), Err(SignatureError::MissingTimestamp));
        assert_eq!(v("+1000", &sig), Err(SignatureError::BadTimestamp));
        assert_eq!(v("1e3", &sig), Err(SignatureError::BadTimestamp));
        assert_eq!(
            v("99999999999999999999999", &sig),
            Err(SignatureError::BadTimestamp)
        );
        assert_eq!(v("1000", ""), Err(SignatureError::MissingSignature));
        assert_eq!(
            v("1000", &sig[3..]),
            Err(SignatureError::MalformedSignature)
        );
        assert_eq!(
            v("1000", &sig[..sig.len() - 2]),
            Err(SignatureError::MalformedSignature)
        );
        let not_hex = format!("v0={}", "zz".repeat(32));
        assert_eq!(v("1000", &not_hex), Err(SignatureError::MalformedSignature));
        let other = format!("v0={}", "00".repeat(32));
        assert_eq!(v("1000", &other), Err(SignatureError::Mismatch));
        assert_eq!(
            verify(b"", "1000", b"b", &sig, 1000),
            Err(SignatureError::NoSecret)
        );
    }

    #[test]
    fn errors_do_not_echo_the_secret() {
        let sig = sign(SECRET, "1000", b"b");
        let err = verify(b"other", "1000", b"b", &sig, 1000).unwrap_err();
        let text = err.to_string();
        assert!(
            !text.contains("s3cret") && !text.contains(&sig[3..]),
            "{text}"
        );
    }
}
