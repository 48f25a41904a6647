//! The S3 evidence store against moto_server: create-once with `If-None-Match: *`, reads,
//! listings, and a worker run whose evidence lives in S3.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use redress_tests::Moto;
use redress_tests::events::config_noncompliant;
use redress_tests::moto::{ACCOUNT, REGION};
use redress_tests::world::{World, by_outcome};
use redress_workers::store::{S3Store, Store};

#[tokio::test(flavor = "multi_thread")]
async fn s3_store_creates_once_reads_lists_and_deletes() {
    let moto = Moto::start().unwrap();
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&moto.sdk_config())
            .force_path_style(true)
            .build(),
    );
    s3.create_bucket()
        .bucket("redress-evidence")
        .send()
        .await
        .unwrap();
    let store = S3Store::new(s3, "redress-evidence", "org-main/");
    assert!(store.create("claims/a.json", b"first").await.unwrap());
    assert!(
        !store.create("claims/a.json", b"second").await.unwrap(),
        "create-once"
    );
    assert_eq!(store.get("claims/a.json").await.unwrap().unwrap(), b"first");
    assert_eq!(store.get("claims/none.json").await.unwrap(), None);
    assert!(
        store
            .create("evidence/2026/01/02/b.json", b"x")
            .await
            .unwrap()
    );
    assert_eq!(
        store.list("evidence/").await.unwrap(),
        ["evidence/2026/01/02/b.json"]
    );
    store.delete("claims/a.json").await.unwrap();
    assert_eq!(store.get("claims/a.json").await.unwrap(), None);
    assert!(
        store.create("../escape.json", b"x").await.is_err(),
        "keys stay under the prefix"
    );
    assert_eq!(store.describe(), "s3://redress-evidence/org-main/");
}

#[tokio::test(flavor = "multi_thread")]
async fn worker_records_evidence_in_s3_and_it_verifies() {
    let w = World::new("").await;
    let s3 = aws_sdk_s3::Client::new(&w.sdk);
    s3.create_bucket()
        .bucket("redress-evidence")
        .send()
        .await
        .unwrap();
    let cfg = std::fs::read_to_string(&w.config).unwrap();
    let file_url = format!("url = \"file://{}\"", w.store().display());
    assert!(cfg.contains(&file_url));
    std::fs::write(
        &w.config,
        cfg.replace(&file_url, "url = \"s3://redress-evidence/org-main\""),
    )
    .unwrap();
    w.send(&config_noncompliant(
        "e-s3-store",
        "ec2-ebs-encryption-by-default",
        "AWS::::Account",
        ACCOUNT,
        ACCOUNT,
        REGION,
    ))
    .await;
    w.worker(&[]);
    assert!(w.records().is_empty(), "nothing in the local folder");
    let listed = s3
        .list_objects_v2()
        .bucket("redress-evidence")
        .prefix("org-main/evidence/")
        .send()
        .await
        .unwrap();
    assert_eq!(listed.contents().len(), 1);
    let out = w.redress(&["evidence", "list", "--json"]);
    let records: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(by_outcome(&records, "fixed").len(), 1);
    let verify = w.redress(&["evidence", "verify"]);
    assert!(verify.status.success());
    assert!(String::from_utf8_lossy(&verify.stdout).contains("1 intact, 0 damaged"));
}
