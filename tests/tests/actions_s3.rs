//! The S3 actions of the catalog against moto_server: capture the drift, apply, verify by
//! re-capture, revert to the exact before-state, and dry-run without change.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use aws_sdk_s3::types::{
    PublicAccessBlockConfiguration, ServerSideEncryption, ServerSideEncryptionByDefault,
    ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
};
use chrono::Utc;
use redress_playbooks::actions::{Params, Value, lookup};
use redress_tests::Moto;
use redress_tests::moto::{ACCOUNT, REGION};
use redress_workers::actions::{Action, ActionError, Ctx, implementation};
use redress_workers::aws::Clients;
use serde_json::json;

struct Env {
    _moto: Moto,
    clients: Clients,
}

impl Env {
    fn start() -> Env {
        let moto = Moto::start().expect("moto_server starts");
        let clients = Clients::new(&moto.sdk_config(), ACCOUNT, REGION, "aws");
        Env {
            _moto: moto,
            clients,
        }
    }

    fn cx(&self) -> Ctx<'_> {
        Ctx {
            aws: &self.clients,
            remediation_id: "rem-s3-test",
            playbook_id: "s3-test",
            event_id: "evt-1",
            finding_time: Utc::now(),
            now: Utc::now(),
        }
    }

    async fn bucket(&self, name: &str) {
        self.clients
            .s3
            .create_bucket()
            .bucket(name)
            .send()
            .await
            .expect("create bucket");
    }
}

/// The step's parameters: the catalog defaults, overridden by `given`.
fn params(action: &str, given: &[(&str, Value)]) -> Params {
    let spec = lookup(action).expect("catalog action");
    let mut p = Params::new();
    for ps in spec.params {
        if let Some(d) = ps.default {
            p.insert(ps.name.to_owned(), d.value());
        }
    }
    for (k, v) in given {
        assert!(spec.param(k).is_some(), "{action} has no parameter {k}");
        p.insert((*k).to_owned(), v.clone());
    }
    p
}

fn action(id: &str) -> &'static dyn Action {
    implementation(id).expect("implemented")
}

fn s(v: &str) -> Value {
    Value::Str(v.to_owned())
}

const PAB: &str = "s3.put_public_access_block";
const ENC: &str = "s3.put_default_encryption";

#[tokio::test]
async fn public_access_block_is_put_verified_and_deleted_again_when_there_was_none() {
    let env = Env::start();
    let cx = env.cx();
    env.bucket("open-bucket").await;
    let a = action(PAB);
    let p = params(PAB, &[("bucket", s("open-bucket"))]);

    let before = a.capture(&cx, &p).await.unwrap();
    assert_eq!(
        before,
        json!({"bucket": "open-bucket", "public_access_block": null})
    );
    assert!(!a.compliant(&p, &before, &cx));

    // Dry run: the planned call, nothing changed.
    let planned = a.dry_run(&cx, &p, &before).await.unwrap();
    assert_eq!(planned, a.planned_calls(&p, &before, &cx));
    assert_eq!(a.capture(&cx, &p).await.unwrap(), before);

    let calls = a.apply(&cx, &p, &before).await.unwrap();
    assert_eq!(calls, planned);
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].action, "s3:PutPublicAccessBlock");
    let all_on = json!({"block_public_acls": true, "ignore_public_acls": true,
                        "block_public_policy": true, "restrict_public_buckets": true});
    assert_eq!(
        calls[0].params,
        json!({"bucket": "open-bucket", "public_access_block": all_on})
    );

    let after = a.capture(&cx, &p).await.unwrap();
    assert_eq!(after["public_access_block"], all_on);
    assert!(a.compliant(&p, &after, &cx), "verified");
    assert!(a.planned_calls(&p, &after, &cx).is_empty());
    assert!(
        a.apply(&cx, &p, &after).await.unwrap().is_empty(),
        "nothing to do when compliant"
    );

    let reverted = a.revert(&cx, &p, &before).await.unwrap();
    assert_eq!(reverted.len(), 1);
    assert_eq!(reverted[0].action, "s3:DeletePublicAccessBlock");
    assert_eq!(a.capture(&cx, &p).await.unwrap(), before);
}

#[tokio::test]
async fn public_access_block_keeps_settings_already_on_and_reverts_to_the_partial_config() {
    let env = Env::start();
    let cx = env.cx();
    env.bucket("half-open").await;
    env.clients
        .s3
        .put_public_access_block()
        .bucket("half-open")
        .public_access_block_configuration(
            PublicAccessBlockConfiguration::builder()
                .block_public_acls(false)
                .ignore_public_acls(false)
                .block_public_policy(true)
                .restrict_public_buckets(false)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let a = action(PAB);
    // The step leaves block_public_policy off: the setting already on stays on.
    let p = params(
        PAB,
        &[
            ("bucket", s("half-open")),
            ("block_public_policy", Value::Bool(false)),
        ],
    );

    let before = a.capture(&cx, &p).await.unwrap();
    let partial = json!({"block_public_acls": false, "ignore_public_acls": false,
                         "block_public_policy": true, "restrict_public_buckets": false});
    assert_eq!(before["public_access_block"], partial);
    assert!(!a.compliant(&p, &before, &cx));

    let calls = a.apply(&cx, &p, &before).await.unwrap();
    assert_eq!(calls.len(), 1);
    assert_eq!(
        calls[0].params["public_access_block"],
        json!({"block_public_acls": true, "ignore_public_acls": true,
               "block_public_policy": true, "restrict_public_buckets": true})
    );
    let after = a.capture(&cx, &p).await.unwrap();
    assert!(a.compliant(&p, &after, &cx));

    let reverted = a.revert(&cx, &p, &before).await.unwrap();
    assert_eq!(reverted.len(), 1);
    assert_eq!(reverted[0].action, "s3:PutPublicAccessBlock");
    assert_eq!(reverted[0].params["public_access_block"], partial);
    assert_eq!(a.capture(&cx, &p).await.unwrap(), before);
}

#[tokio::test]
async fn capture_of_a_missing_bucket_is_an_error_not_a_missing_configuration() {
    let env = Env::start();
    let cx = env.cx();
    for id in [PAB, ENC] {
        let p = params(id, &[("bucket", s("no-such-bucket"))]);
        match action(id).capture(&cx, &p).await {
            Err(ActionError::Aws(e)) => assert_eq!(e.code(), Some("NoSuchBucket"), "{id}: {e}"),
            other => panic!("{id}: expected NoSuchBucket, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn default_encryption_is_put_verified_and_deleted_again_when_there_was_none() {
    let env = Env::start();
    let cx = env.cx();
    env.bucket("plain-bucket").await;
    let a = action(ENC);
    let p = params(ENC, &[("bucket", s("plain-bucket"))]);

    // moto does not give new buckets S3's default SSE-S3 rule (AWS does since 2023): the
    // bucket has no encryption configuration at all.
    let before = a.capture(&cx, &p).await.unwrap();
    assert_eq!(
        before,
        json!({"bucket": "plain-bucket", "server_side_encryption": null})
    );
    assert!(!a.compliant(&p, &before, &cx));

    let planned = a.dry_run(&cx, &p, &before).await.unwrap();
    assert_eq!(
        a.capture(&cx, &p).await.unwrap(),
        before,
        "dry run changes nothing"
    );

    let calls = a.apply(&cx, &p, &before).await.unwrap();
    assert_eq!(calls, planned);
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].action, "s3:PutBucketEncryption");
    assert_eq!(
        calls[0].params,
        json!({"bucket": "plain-bucket", "server_side_encryption": [{"sse_algorithm": "AES256"}]})
    );
    let after = a.capture(&cx, &p).await.unwrap();
    assert_eq!(
        after["server_side_encryption"][0]["sse_algorithm"],
        "AES256"
    );
    assert!(a.compliant(&p, &after, &cx), "verified");
    assert!(a.planned_calls(&p, &after, &cx).is_empty());

    let reverted = a.revert(&cx, &p, &before).await.unwrap();
    assert_eq!(reverted.len(), 1);
    assert_eq!(reverted[0].action, "s3:DeleteBucketEncryption");
    assert_eq!(a.capture(&cx, &p).await.unwrap(), before);
}

#[tokio::test]
async fn default_encryption_with_another_kms_key_is_replaced_and_the_old_rule_restored() {
    let env = Env::start();
    let cx = env.cx();
    env.bucket("kms-bucket").await;
    let old_key = "arn:aws:kms:us-east-1:123456789012:key/11111111-1111-1111-1111-111111111111";
    let new_key = "arn:aws:kms:us-east-1:123456789012:key/22222222-2222-2222-2222-222222222222";
    env.clients
        .s3
        .put_bucket_encryption()
        .bucket("kms-bucket")
        .server_side_encryption_configuration(
            ServerSideEncryptionConfiguration::builder()
                .rules(
                    ServerSideEncryptionRule::builder()
                        .apply_server_side_encryption_by_default(
                            ServerSideEncryptionByDefault::builder()
                                .sse_algorithm(ServerSideEncryption::AwsKms)
                                .kms_master_key_id(old_key)
                                .build()
                                .unwrap(),
                        )
                        .bucket_key_enabled(false)
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let a = action(ENC);

    // SSE-S3 is asked for: KMS is stronger, so the bucket already complies.
    let aes = params(ENC, &[("bucket", s("kms-bucket"))]);
    let state = a.capture(&cx, &aes).await.unwrap();
    assert!(a.compliant(&aes, &state, &cx));
    assert!(a.planned_calls(&aes, &state, &cx).is_empty());

    // A specific KMS key is asked for: the bucket's other key does not comply.
    let p = params(
        ENC,
        &[
            ("bucket", s("kms-bucket")),
            ("algorithm", s("aws:kms")),
            ("kms_key_id", s(new_key)),
        ],
    );
    let before = a.capture(&cx, &p).await.unwrap();
    assert_eq!(
        before["server_side_encryption"],
        json!([{"sse_algorithm": "aws:kms", "kms_master_key_id": old_key, "bucket_key_enabled": false}])
    );
    assert!(!a.compliant(&p, &before, &cx));

    let calls = a.apply(&cx, &p, &before).await.unwrap();
    assert_eq!(
        calls[0].params["server_side_encryption"],
        json!([{"sse_algorithm": "aws:kms", "kms_master_key_id": new_key, "bucket_key_enabled": true}])
    );
    let after = a.capture(&cx, &p).await.unwrap();
    assert!(a.compliant(&p, &after, &cx), "verified: {after}");

    let reverted = a.revert(&cx, &p, &before).await.unwrap();
    assert_eq!(reverted.len(), 1);
    assert_eq!(reverted[0].action, "s3:PutBucketEncryption");
    assert_eq!(a.capture(&cx, &p).await.unwrap(), before);
}
