//! Fuzz target: what the Slack interaction endpoint reads from the network — the signature
//! headers, the form body, the payload JSON, the button token and the queue's job — gives a
//! value or an error for any bytes, never a panic, and keeps its promises.

#![no_main]

use libfuzzer_sys::fuzz_target;
use redress_approvals::interaction::decode;
use redress_approvals::signature::{sign, verify};
use redress_approvals::{Job, Token};

const SECRET: &[u8] = b"fuzz-signing-secret";

fuzz_target!(|data: &[u8]| {
    // The body as the endpoint receives it.
    match decode(data) {
        Ok(i) => {
            assert!(!i.user_id.is_empty() && !i.action_id.is_empty(), "{i:?}");
            assert_eq!(i.kind, "block_actions");
            if let Some(t) = Token::decode(&i.value) {
                assert_eq!(Token::decode(&t.encode()), Some(t));
            }
        }
        Err(e) => {
            let msg = e.to_string();
            assert!(!msg.contains('\n'), "error message spans lines: {msg:?}");
        }
    }
    // Headers: the first line is the timestamp, the second the signature, the rest the body.
    let mut parts = data.splitn(3, |b| *b == b'\n');
    let timestamp = String::from_utf8_lossy(parts.next().unwrap_or_default());
    let signature = String::from_utf8_lossy(parts.next().unwrap_or_default());
    let body = parts.next().unwrap_or_default();
    let parsed = timestamp.parse::<i64>().ok();
    let now = parsed.unwrap_or(1_700_000_000);
    if verify(SECRET, &timestamp, body, &signature, now).is_ok() {
        // Only the real signature over these exact bytes passes.
        assert_eq!(signature, sign(SECRET, &timestamp, body));
    }
    // And the real one passes for any timestamp of digits read at that time.
    if parsed.is_some() && timestamp.bytes().all(|b| b.is_ascii_digit()) {
        let good = sign(SECRET, &timestamp, body);
        assert!(verify(SECRET, &timestamp, body, &good, now).is_ok());
    }
    if let Ok(text) = std::str::from_utf8(data)
        && let Some(t) = Token::decode(text)
    {
        assert_eq!(t.encode(), text);
    }
    if let Some(job) = Job::parse(data) {
        assert_eq!(job.redress, "decision");
    }
});
