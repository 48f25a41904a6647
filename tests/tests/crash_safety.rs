//! Crash safety (DESIGN §5 invariant 3): a delivery that stored its intent and then died is
//! completed or reported by the next one, never applied twice, never left silent.
//!
//! The crashed delivery is set up exactly as it leaves the store: a claim older than the
//! lease and an intent record, with or without its call having reached AWS. (The
//! fault-injection suite kills real workers at random points; this pins each case down.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use aws_sdk_s3::types::{
    ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration,
    ServerSideEncryptionRule,
};
use redress_tests::events::bucket_unencrypted;
use redress_tests::world::{World, by_outcome};
use serde_json::{Value, json};

/// Leaves the store as a worker killed after writing its intent leaves it; returns the
/// intent's before-state.
fn crashed_delivery(w: &World, body: &str) -> (String, Value) {
    let decoded = redress_playbooks::intake::decode(body.as_bytes()).unwrap();
    let plan = w.plan(body);
    let playbook = plan["playbook"].as_str().unwrap().to_owned();
    let id = redress_workers::executor::claim_id(&decoded.findings[0], Some(&playbook));
    let store = w.store();
    let an_hour_ago = chrono::Utc::now() - chrono::Duration::hours(1);
    std::fs::create_dir_all(store.join("claims")).unwrap();
    std::fs::write(
        store.join(format!("claims/{id}.json")),
        json!({"at": an_hour_ago, "worker": "redress (killed)"}).to_string(),
    )
    .unwrap();
    let before = json!([{"bucket": "as the killed delivery captured it", "rules": []}]);
    std::fs::create_dir_all(store.join("intents")).unwrap();
    std::fs::write(
        store.join(format!("intents/{id}.json")),
        json!({
            "at": an_hour_ago,
            "worker": "redress (killed)",
            "event_id": decoded.findings[0].event_id,
            "playbook": playbook,
            "resource": decoded.findings[0].resource.id,
            "calls": ["s3:PutBucketEncryption"],
            "before": before,
        })
        .to_string(),
    )
    .unwrap();
    (format!("intents/{id}.json"), before)
}

async fn encrypt(w: &World, bucket: &str) {
    let sse = ServerSideEncryptionConfiguration::builder()
        .rules(
            ServerSideEncryptionRule::builder()
                .apply_server_side_encryption_by_default(
                    ServerSideEncryptionByDefault::builder()
                        .sse_algorithm(ServerSideEncryption::Aes256)
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .build()
        .unwrap();
    aws_sdk_s3::Client::new(&w.sdk)
        .put_bucket_encryption()
        .bucket(bucket)
        .server_side_encryption_configuration(sse)
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fix_that_landed_before_the_crash_is_verified_and_recorded_not_applied_again() {
    let w = World::new("").await;
    w.unencrypted_bucket("acme-crash-landed").await;
    let body = bucket_unencrypted("e-crash-landed", "acme-crash-landed");
    let (intent, before) = crashed_delivery(&w, &body);
    // The killed delivery's call reached S3 before the kill.
    encrypt(&w, "acme-crash-landed").await;

    w.send(&body).await;
    w.worker(&[]);

    let records = w.records();
    assert_eq!(records.len(), 1, "{records:#?}");
    let r = &records[0];
    assert_eq!(r["outcome"], "fixed", "{r:#}");
    assert_eq!(r["verified"], true);
    assert_eq!(r["calls"], json!([]), "nothing is applied a second time");
    assert_eq!(r["before"], before, "the state from before the first call");
    assert!(r["after"].is_array());
    assert_eq!(r["resumed"]["intent"], intent);
    assert_eq!(r["resumed"]["worker"], "redress (killed)");
    assert!(
        r["reason"]
            .as_str()
            .unwrap()
            .contains("resumed an interrupted delivery"),
        "{}",
        r["reason"]
    );
    assert_eq!(w.visible_messages(&w.queue).await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fix_that_never_landed_is_completed_once_with_the_original_before_state() {
    let w = World::new("").await;
    w.unencrypted_bucket("acme-crash-lost").await;
    let body = bucket_unencrypted("e-crash-lost", "acme-crash-lost");
    let (intent, before) = crashed_delivery(&w, &body);

    w.send(&body).await;
    w.send(&body).await;
    w.worker(&[]);

    assert!(w.bucket_encrypted("acme-crash-lost").await);
    let records = w.records();
    let fixed = by_outcome(&records, "fixed");
    assert_eq!(fixed.len(), 1, "{records:#?}");
    assert_eq!(
        records.len(),
        1,
        "the duplicate adds no record: {records:#?}"
    );
    let r = fixed[0];
    assert_eq!(r["calls"][0]["action"], "s3:PutBucketEncryption");
    assert_eq!(r["calls"].as_array().unwrap().len(), 1);
    assert_eq!(r["before"], before);
    assert_eq!(r["resumed"]["intent"], intent);
    assert!(
        r["resumed"]["found"]
            .as_str()
            .unwrap()
            .contains("0 of 1 steps had taken effect"),
        "{r:#}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_interrupted_fix_found_while_paused_is_reported_not_applied() {
    let w = World::new("").await;
    w.unencrypted_bucket("acme-crash-paused").await;
    let body = bucket_unencrypted("e-crash-paused", "acme-crash-paused");
    crashed_delivery(&w, &body);
    let out = w.redress(&["pause", "--by", "U0OPS", "--why", "incident"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    w.send(&body).await;
    w.worker(&[]);

    assert!(!w.bucket_encrypted("acme-crash-paused").await);
    let records = w.records();
    assert_eq!(records.len(), 1, "{records:#?}");
    assert_eq!(records[0]["outcome"], "would-fix");
    assert!(
        records[0]["resumed"]["found"]
            .as_str()
            .unwrap()
            .contains("did not take effect"),
        "{:#}",
        records[0]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_auto_fix_leaves_its_intent_before_its_evidence() {
    let w = World::new("").await;
    w.unencrypted_bucket("acme-intent").await;
    w.send(&bucket_unencrypted("e-intent", "acme-intent")).await;
    w.worker(&[]);

    let intents: Vec<_> = std::fs::read_dir(w.store().join("intents"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(intents.len(), 1, "{intents:?}");
    let intent: Value = serde_json::from_slice(&std::fs::read(&intents[0]).unwrap()).unwrap();
    let record = &w.records()[0];
    assert_eq!(record["outcome"], "fixed");
    assert_eq!(intent["before"], record["before"]);
    assert_eq!(intent["calls"], json!(["s3:PutBucketEncryption"]));
    assert!(record.get("resumed").is_none(), "{record:#}");
}
