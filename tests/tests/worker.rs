//! `redress worker` end to end: SQS message in, real AWS calls out (to moto_server over
//! HTTP), verified, recorded, message deleted.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use aws_sdk_ec2::types::{IpPermission, IpRange};
use redress_tests::events::{bucket_unencrypted, config_noncompliant, guardduty_iam_user_key};
use redress_tests::moto::{ACCOUNT, REGION};
use redress_tests::redress;
use redress_tests::world::{World, by_outcome};
use serde_json::Value;

fn ebs_event(id: &str) -> String {
    config_noncompliant(
        id,
        "ec2-ebs-encryption-by-default",
        "AWS::::Account",
        ACCOUNT,
        ACCOUNT,
        REGION,
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn low_risk_drift_is_fixed_verified_and_recorded() {
    let w = World::new("").await;
    assert!(!w.ebs_default_encryption().await);
    w.unencrypted_bucket("acme-unencrypted-logs").await;
    w.send(&ebs_event("e-ebs-1")).await;
    w.send(&bucket_unencrypted("e-s3-1", "acme-unencrypted-logs"))
        .await;
    w.worker(&[]);

    assert!(w.ebs_default_encryption().await);
    assert!(w.bucket_encrypted("acme-unencrypted-logs").await);
    let records = w.records();
    let fixed = by_outcome(&records, "fixed");
    assert_eq!(fixed.len(), 2, "{records:#?}");
    for r in &fixed {
        assert_eq!(r["decision"], "auto");
        assert_eq!(r["mode"], "enforce");
        assert_eq!(r["verified"], true);
        assert!(!r["calls"].as_array().unwrap().is_empty());
        assert!(r["after"].is_array());
        assert!(r["digest"].as_str().unwrap().starts_with("sha256:"));
        assert_eq!(r["finding"]["account"], ACCOUNT);
    }
    let ebs = fixed
        .iter()
        .find(|r| r["playbook"]["id"] == "ebs-default-encryption")
        .unwrap();
    assert_eq!(
        ebs["calls"][0]["action"],
        "ec2:EnableEbsEncryptionByDefault"
    );
    assert_eq!(w.visible_messages(&w.queue).await, 0);

    let verify = w.redress(&["evidence", "verify"]);
    assert!(verify.status.success());
    assert!(String::from_utf8_lossy(&verify.stdout).contains("2 intact, 0 damaged"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_message_three_times_fixes_once() {
    let w = World::new("").await;
    let body = ebs_event("e-dup");
    for _ in 0..3 {
        w.send(&body).await;
    }
    w.worker(&[]);
    assert!(w.ebs_default_encryption().await);
    let records = w.records();
    assert_eq!(by_outcome(&records, "fixed").len(), 1, "{records:#?}");
    assert_eq!(records.len(), 1, "duplicates add no record: {records:#?}");
    assert_eq!(w.visible_messages(&w.queue).await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_event_for_a_fixed_resource_is_already_compliant() {
    let w = World::new("").await;
    w.send(&ebs_event("e-first")).await;
    w.worker(&[]);
    w.send(&ebs_event("e-second")).await;
    w.worker(&[]);
    let records = w.records();
    assert_eq!(by_outcome(&records, "fixed").len(), 1);
    let again = by_outcome(&records, "already-compliant");
    assert_eq!(again.len(), 1, "{records:#?}");
    assert!(again[0]["calls"].as_array().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn dry_run_records_would_fix_and_changes_nothing() {
    let w = World::new("").await;
    w.unencrypted_bucket("acme-dry-run").await;
    w.send(&ebs_event("e-dry")).await;
    w.send(&bucket_unencrypted("e-dry-s3", "acme-dry-run"))
        .await;
    w.worker(&["--dry-run"]);
    assert!(!w.ebs_default_encryption().await);
    assert!(!w.bucket_encrypted("acme-dry-run").await);
    let records = w.records();
    let would = by_outcome(&records, "would-fix");
    assert_eq!(would.len(), 2, "{records:#?}");
    for r in would {
        assert_eq!(r["decision"], "dry-run");
        assert_eq!(r["mode"], "dry-run");
        assert!(r.get("after").is_none());
        assert!(!r["calls"].as_array().unwrap().is_empty());
    }
    // EC2 proves the permission with DryRun instead of acting.
    let ebs = records
        .iter()
        .find(|r| r["playbook"]["id"] == "ebs-default-encryption")
        .unwrap();
    assert!(
        ebs["calls"][0]["result"]
            .to_string()
            .contains("DryRunOperation"),
        "{ebs:#}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn high_risk_findings_are_held_and_nothing_changes() {
    let w = World::new("").await;
    let ec2 = aws_sdk_ec2::Client::new(&w.sdk);
    let group = ec2
        .create_security_group()
        .group_name("open-ssh")
        .description("test")
        .send()
        .await
        .unwrap()
        .group_id
        .unwrap();
    ec2.authorize_security_group_ingress()
        .group_id(&group)
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(22)
                .to_port(22)
                .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
                .build(),
        )
        .send()
        .await
        .unwrap();
    let iam = aws_sdk_iam::Client::new(&w.sdk);
    iam.create_user()
        .user_name("ci-deploy")
        .send()
        .await
        .unwrap();
    let key = iam
        .create_access_key()
        .user_name("ci-deploy")
        .send()
        .await
        .unwrap()
        .access_key
        .unwrap()
        .access_key_id;
    w.send(&config_noncompliant(
        "e-sg",
        "restricted-ssh",
        "AWS::EC2::SecurityGroup",
        &group,
        ACCOUNT,
        REGION,
    ))
    .await;
    w.send(&guardduty_iam_user_key(
        "e-key",
        "ci-deploy",
        &key,
        ACCOUNT,
        REGION,
    ))
    .await;
    w.worker(&[]);

    let records = w.records();
    let held = by_outcome(&records, "held");
    assert_eq!(held.len(), 2, "{records:#?}");
    for r in &held {
        assert_eq!(r["decision"], "approval");
        assert!(r["calls"].as_array().unwrap().is_empty());
        assert!(r["before"][0].is_object(), "before-state captured: {r:#}");
        let request = w.store().join(format!(
            "approvals/requests/{}.json",
            r["id"].as_str().unwrap()
        ));
        let request: Value = serde_json::from_slice(&std::fs::read(request).unwrap()).unwrap();
        assert!(
            request["plan_hash"]
                .as_str()
                .unwrap()
                .starts_with("sha256:")
        );
    }
    // Nothing was changed: the rule is still there, the key still active.
    let rules = ec2
        .describe_security_group_rules()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("group-id")
                .values(&group)
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert!(
        rules
            .security_group_rules()
            .iter()
            .any(|r| r.cidr_ipv4() == Some("0.0.0.0/0") && r.from_port() == Some(22))
    );
    let keys = iam
        .list_access_keys()
        .user_name("ci-deploy")
        .send()
        .await
        .unwrap();
    assert_eq!(
        keys.access_key_metadata()[0].status().unwrap().as_str(),
        "Active"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn undecodable_message_goes_to_the_dlq_and_the_rest_is_processed() {
    let w = World::new("").await;
    w.send("{\"version\": \"0\", \"source\": \"aws.guardduty\", \"detail\": {")
        .await;
    w.send("not json at all").await;
    w.send(&ebs_event("e-after-bad")).await;
    w.worker(&[]);
    assert!(w.ebs_default_encryption().await);
    assert_eq!(by_outcome(&w.records(), "fixed").len(), 1);
    assert_eq!(w.visible_messages(&w.queue).await, 0);
    let dead = w
        .sqs()
        .receive_message()
        .queue_url(&w.dlq)
        .max_number_of_messages(10)
        .message_attribute_names("All")
        .send()
        .await
        .unwrap();
    let dead = dead.messages();
    assert_eq!(dead.len(), 2);
    for m in dead {
        let reason = m.message_attributes().unwrap()["redress-reason"]
            .string_value()
            .unwrap();
        assert!(reason.contains("not JSON"), "{reason}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn rollback_restores_the_before_state_with_its_own_record() {
    let w = World::new("").await;
    w.unencrypted_bucket("acme-rollback").await;
    w.send(&bucket_unencrypted("e-rb", "acme-rollback")).await;
    w.worker(&[]);
    assert!(w.bucket_encrypted("acme-rollback").await);
    let fixed = w.records();
    let id = fixed[0]["id"].as_str().unwrap().to_owned();

    let out = w.redress(&["rollback", &id]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!w.bucket_encrypted("acme-rollback").await);
    let records = w.records();
    let rb = records
        .iter()
        .find(|r| r["rollback_of"] == id.as_str())
        .unwrap();
    assert_eq!(rb["outcome"], "fixed");
    assert_eq!(rb["verified"], true);
    assert_eq!(rb["calls"][0]["action"], "s3:DeleteBucketEncryption");

    // A second rollback of the same fix is refused.
    let again = w.redress(&["rollback", &id]);
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already rolled back"));
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_mid_batch_loses_no_message() {
    let w = World::new("").await;
    let n = 12;
    for i in 0..n {
        let bucket = format!("acme-sigterm-{i:02}");
        w.unencrypted_bucket(&bucket).await;
        w.send(&bucket_unencrypted(&format!("e-term-{i}"), &bucket))
            .await;
    }
    let mut child = w
        .command(&["worker"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Stop it as soon as it has done some of the work.
    let deadline = Instant::now() + Duration::from_secs(60);
    while w.records().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid = child.id().to_string();
    std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "SIGTERM exits 0, got {status}");
    let first_run = w.records().len();
    assert!(first_run >= 1);

    // Whatever was in flight or not yet received comes back to the next worker.
    w.worker(&[]);
    let records = w.records();
    assert_eq!(records.len(), n, "{records:#?}");
    assert_eq!(by_outcome(&records, "fixed").len(), n);
    for i in 0..n {
        assert!(w.bucket_encrypted(&format!("acme-sigterm-{i:02}")).await);
    }
    assert_eq!(w.visible_messages(&w.queue).await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn evidence_verify_detects_an_edited_record() {
    let w = World::new("").await;
    w.send(&ebs_event("e-tamper")).await;
    w.worker(&[]);
    let records = w.records();
    let id = records[0]["id"].as_str().unwrap();
    let path = find(&w.store().join("evidence"), &format!("{id}.json")).unwrap();
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("\"fixed\"", "\"failed\"");
    std::fs::write(&path, text).unwrap();
    let out = w.redress(&["evidence", "verify"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("digest mismatch"));
}

#[tokio::test(flavor = "multi_thread")]
async fn worker_without_a_queue_says_what_is_missing() {
    let w = World::new("").await;
    let bare = w.dir.path().join("bare.toml");
    std::fs::write(&bare, "").unwrap();
    let out = redress::run(&w.moto, &bare, &["worker", "--until-idle", "1"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "redress: the worker needs a queue: add `[queue] url = \"https://sqs.…\"` to the config\n"
    );
}

fn find(dir: &Path, name: &str) -> Option<PathBuf> {
    for e in std::fs::read_dir(dir).ok()? {
        let p = e.ok()?.path();
        if p.is_dir() {
            if let Some(f) = find(&p, name) {
                return Some(f);
            }
        } else if p.file_name().is_some_and(|n| n == name) {
            return Some(p);
        }
    }
    None
}

#[tokio::test(flavor = "multi_thread")]
async fn kill_switch_turns_the_fleet_to_dry_run_until_resumed() {
    let w = World::new("").await;
    let out = w.redress(&["pause", "--by", "alice", "--why", "incident 42"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    w.send(&ebs_event("e-paused")).await;
    w.worker(&[]);
    assert!(
        !w.ebs_default_encryption().await,
        "nothing changes while paused"
    );
    let records = w.records();
    let would = by_outcome(&records, "would-fix");
    assert_eq!(would.len(), 1, "{records:#?}");
    assert_eq!(would[0]["mode"], "dry-run");
    let reason = would[0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("paused (kill switch) by alice") && reason.contains("incident 42"),
        "{reason}"
    );

    let out = w.redress(&["resume", "--by", "alice", "--why", "resolved"]);
    assert!(out.status.success());
    w.send(&ebs_event("e-resumed")).await;
    w.worker(&[]);
    assert!(w.ebs_default_encryption().await);
    assert_eq!(by_outcome(&w.records(), "fixed").len(), 1);
    // The switch's history stays in the store.
    assert_eq!(
        std::fs::read_dir(w.store().join("control/pause"))
            .unwrap()
            .count(),
        2
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failure_that_retrying_cannot_fix_is_recorded_once_and_the_worker_goes_idle() {
    let w = World::new("").await;
    // moto's GetBucketVersioning reply does not parse (DESIGN: emulator gaps): a client-side
    // failure that no redelivery can fix.
    aws_sdk_s3::Client::new(&w.sdk)
        .create_bucket()
        .bucket("acme-unversioned")
        .send()
        .await
        .unwrap();
    w.send(&config_noncompliant(
        "e-broken",
        "s3-bucket-versioning-enabled",
        "AWS::S3::Bucket",
        "acme-unversioned",
        ACCOUNT,
        REGION,
    ))
    .await;
    let started = Instant::now();
    w.worker(&[]);
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "the worker went idle"
    );
    let records = w.records();
    let failed = by_outcome(&records, "failed");
    assert_eq!(failed.len(), 1, "{records:#?}");
    assert!(
        failed[0]["error"]
            .as_str()
            .unwrap()
            .contains("s3:GetBucketVersioning failed (client)")
    );
    assert_eq!(w.visible_messages(&w.queue).await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn health_reports_the_worker_loop_alive_then_stuck() {
    let mut w = World::new("").await;
    let beat = w.dir.path().join("heartbeat");
    w.env
        .push(("REDRESS_HEARTBEAT".to_owned(), beat.display().to_string()));
    let before = w.redress(&["health"]);
    assert_eq!(
        before.status.code(),
        Some(1),
        "no heartbeat before the loop starts"
    );
    w.worker(&[]);
    let out = w.redress(&["health"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("healthy: last heartbeat"));
    std::fs::write(&beat, "2026-01-01T00:00:00Z").unwrap();
    let out = w.redress(&["health"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("the worker loop is stuck"));
}
