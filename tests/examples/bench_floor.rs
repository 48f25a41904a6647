//! The API floor of the worker benchmark (issue 8, BENCHMARKS.md): the same S3 calls per
//! bucket that redress makes for a fix (read, write, re-read), with the same Rust SDK and
//! nothing else: no queue, no playbook, no evidence. Run by scripts/local/bench.py.
//!
//! `bench_floor encryption|bpa PREFIX COUNT CONCURRENCY`, against `AWS_ENDPOINT_URL`;
//! prints one JSON object: wall-clock start and end, and each bucket's milliseconds.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use aws_sdk_s3::Client;
use aws_sdk_s3::types::{
    PublicAccessBlockConfiguration, ServerSideEncryption, ServerSideEncryptionByDefault,
    ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

#[derive(Clone, Copy)]
enum Kind {
    Encryption,
    Bpa,
}

/// Read what the playbook captures; a "not configured" answer is a state, not an error.
async fn read(s3: &Client, kind: Kind, bucket: &str) -> bool {
    match kind {
        Kind::Encryption => s3
            .get_bucket_encryption()
            .bucket(bucket)
            .send()
            .await
            .is_ok(),
        Kind::Bpa => {
            let pab = s3
                .get_public_access_block()
                .bucket(bucket)
                .send()
                .await
                .ok()
                .and_then(|o| o.public_access_block_configuration)
                .is_some_and(|c| c.block_public_acls == Some(true));
            s3.get_bucket_acl().bucket(bucket).send().await.unwrap();
            pab
        }
    }
}

async fn write(s3: &Client, kind: Kind, bucket: &str) {
    match kind {
        Kind::Encryption => {
            let rule = ServerSideEncryptionRule::builder()
                .apply_server_side_encryption_by_default(
                    ServerSideEncryptionByDefault::builder()
                        .sse_algorithm(ServerSideEncryption::Aes256)
                        .build()
                        .unwrap(),
                )
                .bucket_key_enabled(true)
                .build();
            s3.put_bucket_encryption()
                .bucket(bucket)
                .server_side_encryption_configuration(
                    ServerSideEncryptionConfiguration::builder()
                        .rules(rule)
                        .build()
                        .unwrap(),
                )
                .send()
                .await
                .unwrap();
        }
        Kind::Bpa => {
            s3.put_public_access_block()
                .bucket(bucket)
                .public_access_block_configuration(
                    PublicAccessBlockConfiguration::builder()
                        .block_public_acls(true)
                        .ignore_public_acls(true)
                        .block_public_policy(true)
                        .restrict_public_buckets(true)
                        .build(),
                )
                .send()
                .await
                .unwrap();
        }
    }
}

fn now_s() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, kind, prefix, count, concurrency] = args.as_slice() else {
        panic!("usage: bench_floor encryption|bpa PREFIX COUNT CONCURRENCY");
    };
    let kind = match kind.as_str() {
        "encryption" => Kind::Encryption,
        "bpa" => Kind::Bpa,
        other => panic!("unknown kind {other}"),
    };
    let count: usize = count.parse().unwrap();
    let concurrency: usize = concurrency.parse().unwrap();
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    let s3 = Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(true)
            .build(),
    );
    let permits = Arc::new(Semaphore::new(concurrency));
    let mut tasks = JoinSet::new();
    let start = now_s();
    for i in 0..count {
        let (s3, permits) = (s3.clone(), permits.clone());
        let bucket = format!("{prefix}{i:05}");
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await.unwrap();
            let t = Instant::now();
            assert!(!read(&s3, kind, &bucket).await, "{bucket} is not drifted");
            write(&s3, kind, &bucket).await;
            assert!(read(&s3, kind, &bucket).await, "{bucket} was not fixed");
            t.elapsed().as_secs_f64() * 1000.0
        });
    }
    let mut latencies_ms = Vec::with_capacity(count);
    while let Some(r) = tasks.join_next().await {
        latencies_ms.push(r.unwrap());
    }
    let end = now_s();
    println!(
        "{}",
        serde_json::json!({"start": start, "end": end, "latencies_ms": latencies_ms})
    );
}
