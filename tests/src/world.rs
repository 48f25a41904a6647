//! A test world: moto_server, an SQS queue with a DLQ, a config file and a store folder.

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

use crate::Moto;
use crate::redress;

/// A moto_server, an SQS queue and DLQ, a config and a store folder for one test.
pub struct World {
    pub moto: Moto,
    pub sdk: aws_config::SdkConfig,
    pub dir: tempfile::TempDir,
    pub queue: String,
    pub dlq: String,
    pub config: PathBuf,
    /// Extra environment for every `redress` run (Slack secrets, for instance).
    pub env: Vec<(String, String)>,
}

impl World {
    pub async fn new(extra_config: &str) -> World {
        World::with_queue(extra_config, "visibility_timeout_secs = 30").await
    }

    /// A world whose `[queue]` section has `queue_config` (lines such as
    /// `visibility_timeout_secs = 3`) besides the queue URLs and a 1 s long poll.
    pub async fn with_queue(extra_config: &str, queue_config: &str) -> World {
        let moto = Moto::start().unwrap();
        let sdk = moto.sdk_config();
        let sqs = aws_sdk_sqs::Client::new(&sdk);
        let dlq = sqs
            .create_queue()
            .queue_name("redress-dlq")
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap();
        let queue = sqs
            .create_queue()
            .queue_name("redress-events")
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("redress.toml");
        let catalog = redress::repo().join("playbooks/catalog");
        std::fs::write(
            &config,
            format!(
                "playbooks = {catalog:?}\n{extra_config}\n[queue]\nurl = {queue:?}\ndlq_url = {dlq:?}\nwait_time_secs = 1\n{queue_config}\n[store]\nurl = \"file://{}\"\n",
                dir.path().join("store").display()
            ),
        )
        .unwrap();
        World {
            moto,
            sdk,
            dir,
            queue,
            dlq,
            config,
            env: Vec::new(),
        }
    }

    pub fn sqs(&self) -> aws_sdk_sqs::Client {
        aws_sdk_sqs::Client::new(&self.sdk)
    }

    pub async fn send(&self, body: &str) {
        self.sqs()
            .send_message()
            .queue_url(&self.queue)
            .message_body(body)
            .send()
            .await
            .unwrap();
    }

    /// Sends every body, ten to a `SendMessageBatch`, in order.
    pub async fn send_all(&self, bodies: &[String]) {
        let sqs = self.sqs();
        for (n, chunk) in bodies.chunks(10).enumerate() {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, body)| {
                    aws_sdk_sqs::types::SendMessageBatchRequestEntry::builder()
                        .id(format!("m{n}-{i}"))
                        .message_body(body)
                        .build()
                        .unwrap()
                })
                .collect::<Vec<_>>();
            let out = sqs
                .send_message_batch()
                .queue_url(&self.queue)
                .set_entries(Some(entries))
                .send()
                .await
                .unwrap();
            assert!(out.failed().is_empty(), "{:?}", out.failed());
        }
    }

    /// Receives and deletes every message of `queue` (with its attributes) until it is empty.
    pub async fn drain(&self, queue: &str) -> Vec<aws_sdk_sqs::types::Message> {
        let sqs = self.sqs();
        let mut out = Vec::new();
        loop {
            let got = sqs
                .receive_message()
                .queue_url(queue)
                .max_number_of_messages(10)
                .message_attribute_names("All")
                .visibility_timeout(60)
                .send()
                .await
                .unwrap()
                .messages
                .unwrap_or_default();
            if got.is_empty() {
                return out;
            }
            for m in &got {
                sqs.delete_message()
                    .queue_url(queue)
                    .receipt_handle(m.receipt_handle().unwrap())
                    .send()
                    .await
                    .unwrap();
            }
            out.extend(got);
        }
    }

    /// A `redress --config <this world's config>` command with the emulator's environment.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = redress::command(&self.moto, &self.config, args);
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }

    pub fn redress(&self, args: &[&str]) -> Output {
        self.command(args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run redress: {e}"))
    }

    pub fn worker(&self, extra: &[&str]) -> Output {
        let mut args = vec!["worker", "--until-idle", "2"];
        args.extend_from_slice(extra);
        let out = self.redress(&args);
        assert!(
            out.status.success(),
            "worker failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// Every evidence record in the store.
    pub fn records(&self) -> Vec<Value> {
        let mut out = Vec::new();
        let mut stack = vec![self.dir.path().join("store/evidence")];
        while let Some(d) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&d) else {
                continue;
            };
            for e in entries {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.extension().is_some_and(|x| x == "json") {
                    out.push(serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap());
                }
            }
        }
        out.sort_by_key(|r: &Value| r["started_at"].as_str().unwrap_or_default().to_owned());
        out
    }

    pub fn store(&self) -> PathBuf {
        self.dir.path().join("store")
    }

    pub async fn visible_messages(&self, queue: &str) -> usize {
        let attrs = self
            .sqs()
            .get_queue_attributes()
            .queue_url(queue)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
            .send()
            .await
            .unwrap();
        let get = |n: aws_sdk_sqs::types::QueueAttributeName| {
            attrs
                .attributes()
                .and_then(|a| a.get(&n))
                .and_then(|v| v.parse::<usize>().ok())
                .unwrap_or(0)
        };
        get(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
            + get(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
    }

    pub async fn ebs_default_encryption(&self) -> bool {
        aws_sdk_ec2::Client::new(&self.sdk)
            .get_ebs_encryption_by_default()
            .send()
            .await
            .unwrap()
            .ebs_encryption_by_default
            .unwrap_or(false)
    }

    /// A bucket with no default encryption (moto may add SSE-S3 by default, as S3 does now:
    /// it is removed so the bucket is really drifted).
    pub async fn unencrypted_bucket(&self, name: &str) {
        let s3 = aws_sdk_s3::Client::new(&self.sdk);
        s3.create_bucket().bucket(name).send().await.unwrap();
        let _ = s3.delete_bucket_encryption().bucket(name).send().await;
    }

    pub async fn bucket_encrypted(&self, name: &str) -> bool {
        aws_sdk_s3::Client::new(&self.sdk)
            .get_bucket_encryption()
            .bucket(name)
            .send()
            .await
            .is_ok_and(|o| {
                o.server_side_encryption_configuration()
                    .is_some_and(|c| !c.rules().is_empty())
            })
    }
}

impl World {
    /// Rolls back the record `id` (approved by `U0TEST`), asserts it succeeded, and returns
    /// the rollback's own record.
    pub fn rollback(&self, id: &str) -> Value {
        let out = self.redress(&["rollback", id, "--approved-by", "U0TEST"]);
        assert!(
            out.status.success(),
            "rollback failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let records = self.records();
        let rb = records
            .iter()
            .find(|r| r["rollback_of"] == id)
            .unwrap_or_else(|| panic!("no rollback record: {records:#?}"))
            .clone();
        assert_eq!(rb["outcome"], "fixed", "{rb:#}");
        rb
    }

    /// `redress plan --json` on one event body: the first finding's plan.
    pub fn plan(&self, body: &str) -> Value {
        let path = self.dir.path().join("event.json");
        std::fs::write(&path, body).unwrap_or_else(|e| panic!("cannot write the event: {e}"));
        let out = self.redress(&["plan", "--event", &path.display().to_string(), "--json"]);
        assert!(
            out.status.success(),
            "plan failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        serde_json::from_str(text.lines().next().unwrap_or_default())
            .unwrap_or_else(|e| panic!("plan JSON: {e}"))
    }
}

/// The records with this outcome.
pub fn by_outcome<'a>(records: &'a [Value], outcome: &str) -> Vec<&'a Value> {
    records.iter().filter(|r| r["outcome"] == outcome).collect()
}
