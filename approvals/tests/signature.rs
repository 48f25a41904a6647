#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Slack request signing against the shared fixtures.

use std::path::PathBuf;

use redress_approvals::signature::{SignatureError, sign, verify};
use serde_json::Value;

fn events_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/events")
}

fn read_json(name: &str) -> Value {
    let text = std::fs::read_to_string(events_dir().join(name)).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The error a rejected vector should give, where its name says which check it exercises.
fn expected_error(name: &str) -> Option<SignatureError> {
    match name {
        "tampered-body" | "wrong-secret" | "body-decoded-before-signing" => {
            Some(SignatureError::Mismatch)
        }
        "missing-v0-prefix" => Some(SignatureError::MalformedSignature),
        "missing-timestamp-header" => Some(SignatureError::MissingTimestamp),
        _ => None,
    }
}

#[test]
fn every_signing_vector_gives_its_expected_verdict() {
    let file = read_json("slack-signing-test-vectors.json");
    let vectors = file["vectors"].as_array().unwrap();
    let mut checked = Vec::new();
    let mut skipped = Vec::new();
    for v in vectors {
        let name = v["name"].as_str().unwrap();
        let secret = v["signing_secret"].as_str().unwrap().as_bytes();
        // A null timestamp stands for a missing header.
        let timestamp = v["timestamp"].as_str().unwrap_or("");
        let body = match (v["body"].as_str(), v["body_file"].as_str()) {
            (Some(body), _) => body.as_bytes().to_vec(),
            (None, Some(file)) => match std::fs::read(events_dir().join(file)) {
                Ok(bytes) => bytes,
                Err(_) => {
                    // The vectors file names a body file the fixtures do not ship.
                    skipped.push(name.to_owned());
                    continue;
                }
            },
            (None, None) => panic!("{name}: no body"),
        };
        if let Some(prefix) = v["basestring_prefix"].as_str() {
            let basestring = [format!("v0:{timestamp}:").as_bytes(), &body].concat();
            assert!(
                basestring.starts_with(prefix.as_bytes()),
                "{name}: basestring"
            );
        }
        let header = v["signature_header"]
            .as_str()
            .or(v["expected_signature"].as_str())
            .unwrap();
        // Slack's worked example gives no "now": verify at its own timestamp.
        let now = v["now"]
            .as_i64()
            .unwrap_or_else(|| timestamp.parse().unwrap());
        let expect = v["expect"].as_str().unwrap();
        let verdict = verify(secret, timestamp, &body, header, now);

        if expect == "valid" {
            assert_eq!(verdict, Ok(()), "{name}");
            assert_eq!(sign(secret, timestamp, &body), header, "{name}: sign");
        } else {
            assert!(expect.starts_with("reject"), "{name}: expect {expect:?}");
            let err = verdict.expect_err(name);
            if let Some(expected) = expected_error(name) {
                assert_eq!(err, expected, "{name}");
            }
            if name.contains("timestamp") && name != "missing-timestamp-header" {
                assert!(
                    matches!(err, SignatureError::OutsideWindow { skew_secs } if skew_secs > 300),
                    "{name}: {err:?}"
                );
            }
        }
        checked.push(name.to_owned());
    }
    assert!(checked.len() >= 9, "checked only {checked:?}");
    assert!(
        skipped.iter().all(|s| s == "reject-click-valid"),
        "unexpectedly skipped {skipped:?}"
    );
}

#[test]
fn the_approve_click_fixture_verifies_over_the_exact_body_bytes() {
    let request = read_json("slack-block-actions-approve.request.json");
    let body = std::fs::read(events_dir().join("slack-block-actions-approve.body.txt")).unwrap();
    let secret = request["signing_secret_for_this_corpus"].as_str().unwrap();
    let timestamp = request["headers"]["X-Slack-Request-Timestamp"]
        .as_str()
        .unwrap();
    let signature = request["headers"]["X-Slack-Signature"].as_str().unwrap();
    let now = request["verify_at_unix_time"].as_i64().unwrap();

    assert_eq!(body, request["body"].as_str().unwrap().as_bytes());
    assert_eq!(
        verify(secret.as_bytes(), timestamp, &body, signature, now),
        Ok(())
    );
    // One byte more (a trailing newline an editor might add) and it no longer verifies.
    let mut longer = body.clone();
    longer.push(b'\n');
    assert_eq!(
        verify(secret.as_bytes(), timestamp, &longer, signature, now),
        Err(SignatureError::Mismatch)
    );
    // Six minutes later the same bytes are a replay.
    assert_eq!(
        verify(secret.as_bytes(), timestamp, &body, signature, now + 360),
        Err(SignatureError::OutsideWindow { skew_secs: 362 })
    );
}
