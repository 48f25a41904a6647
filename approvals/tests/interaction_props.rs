//! No request body, header or button value makes the Slack side panic: the signature check,
//! the payload decoder and the token decoder answer every input with a value or an error.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use redress_approvals::Token;
use redress_approvals::interaction::decode;
use redress_approvals::signature::{sign, verify};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn any_body_decodes_or_errors(body in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = decode(&body);
    }

    #[test]
    fn any_payload_json_decodes_or_errors(payload in "\\PC{0,400}") {
        let body = format!("payload={}", payload.replace('%', "%25").replace('&', "%26"));
        let _ = decode(body.as_bytes());
    }

    #[test]
    fn any_headers_verify_or_error(ts in "\\PC{0,24}", sig in "\\PC{0,90}", body in "\\PC{0,200}") {
        prop_assert!(verify(b"secret", &ts, body.as_bytes(), &sig, 1_700_000_000).is_err()
            || sig == sign(b"secret", &ts, body.as_bytes()));
    }

    #[test]
    fn only_the_exact_signature_verifies(body in "\\PC{0,200}", flip in 3usize..67) {
        let ts = "1700000000";
        let good = sign(b"secret", ts, body.as_bytes());
        prop_assert!(verify(b"secret", ts, body.as_bytes(), &good, 1_700_000_000).is_ok());
        let mut bad = good.clone().into_bytes();
        bad[flip] = if bad[flip] == b'0' { b'1' } else { b'0' };
        let bad = String::from_utf8(bad).unwrap();
        prop_assert!(verify(b"secret", ts, body.as_bytes(), &bad, 1_700_000_000).is_err());
    }

    #[test]
    fn any_button_value_decodes_or_is_refused(value in "\\PC{0,200}") {
        if let Some(t) = Token::decode(&value) {
            prop_assert_eq!(Token::decode(&t.encode()), Some(t));
        }
    }
}
