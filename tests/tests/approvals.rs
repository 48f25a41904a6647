//! Approvals end to end: a held fix posted to Slack (a local stand-in of the Web API), a
//! signed click on `redress approvals serve`, the worker applying it against moto_server —
//! and every refusal leaving AWS as it was.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::TcpListener;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_ec2::types::{Filter, IpPermission, IpRange};
use redress_approvals::signature::sign;
use redress_tests::events::{config_noncompliant, guardduty_iam_user_key};
use redress_tests::moto::{ACCOUNT, REGION};
use redress_tests::slack::{SlackStandIn, TOKEN};
use redress_tests::world::{World, by_outcome};
use serde_json::{Value, json};

const SECRET: &str = "test-signing-secret";
const APPROVER: &str = "U0APPROVER1";
const APPROVER_2: &str = "U0APPROVER2";
const STRANGER: &str = "U0STRANGER9";

struct Fleet {
    world: World,
    slack: SlackStandIn,
    server: Option<Child>,
    endpoint: String,
}

impl Drop for Fleet {
    fn drop(&mut self) {
        if let Some(mut s) = self.server.take() {
            let _ = s.kill();
            let _ = s.wait();
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Fleet {
    async fn new(extra: &str) -> Fleet {
        let slack = SlackStandIn::start();
        let config = format!(
            "{extra}\n[slack]\napi_url = {:?}\ndefault_channel = \"C0SECURITY\"\n[approvals]\napprovers = [{APPROVER:?}, {APPROVER_2:?}]\n",
            slack.api_url()
        );
        let mut world = World::new(&config).await;
        world.env = vec![
            ("SLACK_BOT_TOKEN".to_owned(), TOKEN.to_owned()),
            ("SLACK_SIGNING_SECRET".to_owned(), SECRET.to_owned()),
        ];
        Fleet {
            world,
            slack,
            server: None,
            endpoint: String::new(),
        }
    }

    /// Starts `redress approvals serve` and waits for /healthz.
    fn serve(&mut self) {
        let port = free_port();
        let child = self
            .world
            .command(&[
                "approvals",
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.server = Some(child);
        self.endpoint = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("approvals serve did not listen");
    }

    /// The top-level request messages posted (not thread replies).
    fn requests(&self) -> Vec<Value> {
        self.slack
            .posts()
            .into_iter()
            .filter(|p| p.get("thread_ts").is_none_or(Value::is_null))
            .collect()
    }

    /// The value of the button `action` in the request message about `needle`.
    fn button(&self, needle: &str, action: &str) -> String {
        for post in self.requests() {
            if !post.to_string().contains(needle) {
                continue;
            }
            for block in post["blocks"].as_array().unwrap() {
                for el in block["elements"].as_array().into_iter().flatten() {
                    if el["action_id"] == action {
                        return el["value"].as_str().unwrap().to_owned();
                    }
                }
            }
        }
        panic!(
            "no {action} button for {needle} in {:#?}",
            self.slack.posts()
        );
    }

    /// A block_actions body as Slack sends it, form-encoded.
    fn body(&self, user: &str, action: &str, value: &str, response: &str) -> String {
        let payload = json!({
            "type": "block_actions",
            "user": {"id": user, "username": "someone", "team_id": "T0TEST"},
            "api_app_id": "A0TEST",
            "team": {"id": "T0TEST"},
            "channel": {"id": "C0SECURITY"},
            "container": {"type": "message", "message_ts": "1", "channel_id": "C0SECURITY"},
            "response_url": self.slack.response_url(response),
            "trigger_id": "1.2.3",
            "actions": [{"action_id": action, "block_id": "decision", "type": "button", "value": value, "action_ts": "1.2"}],
        });
        serde_urlencoded_body(&payload)
    }

    async fn post_signed(&self, body: &str, timestamp: i64, secret: &str) -> reqwest::StatusCode {
        let ts = timestamp.to_string();
        let signature = sign(secret.as_bytes(), &ts, body.as_bytes());
        reqwest::Client::new()
            .post(format!("{}/slack/interactions", self.endpoint))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .header("X-Slack-Request-Timestamp", &ts)
            .header("X-Slack-Signature", signature)
            .body(body.to_owned())
            .send()
            .await
            .unwrap()
            .status()
    }

    async fn click(
        &self,
        user: &str,
        action: &str,
        value: &str,
        response: &str,
    ) -> reqwest::StatusCode {
        let body = self.body(user, action, value, response);
        self.post_signed(&body, chrono::Utc::now().timestamp(), SECRET)
            .await
    }

    /// Waits until the response URL `id` got a reply, and returns the last one.
    async fn reply(&self, id: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(r) = self.slack.responses_to(id).last() {
                return r.clone();
            }
            assert!(Instant::now() < deadline, "no reply on response URL {id}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn decisions(&self) -> usize {
        std::fs::read_dir(self.world.store().join("approvals/decisions"))
            .map(|d| d.count())
            .unwrap_or(0)
    }
}

fn serde_urlencoded_body(payload: &Value) -> String {
    let mut out = String::from("payload=");
    for b in payload.to_string().bytes() {
        if b.is_ascii_alphanumeric() || b"-_.*".contains(&b) {
            out.push(b as char);
        } else if b == b' ' {
            out.push('+');
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A security group with SSH (22) and HTTPS (443) open to the world.
async fn open_group(w: &World, name: &str) -> String {
    let ec2 = aws_sdk_ec2::Client::new(&w.sdk);
    let group = ec2
        .create_security_group()
        .group_name(name)
        .description("test")
        .send()
        .await
        .unwrap()
        .group_id
        .unwrap();
    for port in [22, 443] {
        open_port(w, &group, port).await;
    }
    group
}

async fn open_port(w: &World, group: &str, port: i32) {
    aws_sdk_ec2::Client::new(&w.sdk)
        .authorize_security_group_ingress()
        .group_id(group)
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(port)
                .to_port(port)
                .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
                .build(),
        )
        .send()
        .await
        .unwrap();
}

/// Ports open to the world on the group.
async fn open_ports(w: &World, group: &str) -> Vec<i32> {
    let rules = aws_sdk_ec2::Client::new(&w.sdk)
        .describe_security_group_rules()
        .filters(Filter::builder().name("group-id").values(group).build())
        .send()
        .await
        .unwrap();
    let mut ports: Vec<i32> = rules
        .security_group_rules()
        .iter()
        .filter(|r| r.is_egress() == Some(false) && r.cidr_ipv4() == Some("0.0.0.0/0"))
        .filter_map(|r| r.from_port())
        .collect();
    ports.sort_unstable();
    ports
}

fn sg_event(id: &str, group: &str) -> String {
    config_noncompliant(
        id,
        "restricted-ssh",
        "AWS::EC2::SecurityGroup",
        group,
        ACCOUNT,
        REGION,
    )
}

async fn wait_for_decision(f: &Fleet, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while f.decisions() < n {
        assert!(Instant::now() < deadline, "no decision written");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn approved_security_group_fix_is_applied_verified_and_reported() {
    let mut f = Fleet::new("").await;
    let group = open_group(&f.world, "bastion").await;
    f.world.send(&sg_event("e-sg-1", &group)).await;
    f.world.worker(&[]);
    assert_eq!(by_outcome(&f.world.records(), "held").len(), 1);
    assert_eq!(open_ports(&f.world, &group).await, [22, 443]);
    let request = &f.requests()[0];
    assert_eq!(request["channel"], "C0SECURITY");
    assert!(request.to_string().contains(&group));

    f.serve();
    let token = f.button(&group, "approve");
    assert_eq!(f.click(APPROVER, "approve", &token, "r1").await, 200);
    let reply = f.reply("r1").await;
    assert_eq!(reply["replace_original"], true, "{reply:#}");
    assert!(reply.to_string().contains(APPROVER), "{reply:#}");

    f.world.worker(&[]);
    assert_eq!(
        open_ports(&f.world, &group).await,
        [443],
        "only SSH is revoked"
    );
    let records = f.world.records();
    let fixed = by_outcome(&records, "fixed");
    assert_eq!(fixed.len(), 1, "{records:#?}");
    assert_eq!(fixed[0]["decision"], "approval");
    assert_eq!(fixed[0]["approval"]["by"], APPROVER);
    assert_eq!(fixed[0]["verified"], true);
    assert_eq!(
        fixed[0]["calls"][0]["action"],
        "ec2:RevokeSecurityGroupIngress"
    );
    // The outcome is posted in the request's thread.
    let thread: Vec<Value> = f
        .slack
        .posts()
        .into_iter()
        .filter(|p| p.get("thread_ts").is_some_and(|t| !t.is_null()))
        .collect();
    assert!(
        thread.iter().any(|p| p["text"]
            .as_str()
            .unwrap_or_default()
            .to_lowercase()
            .contains("fixed")),
        "{thread:#?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn approved_exposed_key_is_deactivated() {
    let mut f = Fleet::new("").await;
    let iam = aws_sdk_iam::Client::new(&f.world.sdk);
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
    f.world
        .send(&guardduty_iam_user_key(
            "e-key",
            "ci-deploy",
            &key,
            ACCOUNT,
            REGION,
        ))
        .await;
    f.world.worker(&[]);
    f.serve();
    let token = f.button(&key, "approve");
    assert_eq!(f.click(APPROVER_2, "approve", &token, "r1").await, 200);
    wait_for_decision(&f, 1).await;
    f.world.worker(&[]);
    let keys = iam
        .list_access_keys()
        .user_name("ci-deploy")
        .send()
        .await
        .unwrap();
    assert_eq!(
        keys.access_key_metadata()[0].status().unwrap().as_str(),
        "Inactive"
    );
    let records = f.world.records();
    let fixed = by_outcome(&records, "fixed");
    assert_eq!(fixed.len(), 1, "{records:#?}");
    assert_eq!(
        fixed[0]["playbook"]["id"],
        "iam-deactivate-exposed-access-key"
    );
    assert_eq!(fixed[0]["approval"]["by"], APPROVER_2);
}

#[tokio::test(flavor = "multi_thread")]
async fn refusals_change_nothing_and_reject_is_recorded() {
    let mut f = Fleet::new("").await;
    let group = open_group(&f.world, "refusals").await;
    f.world.send(&sg_event("e-ref", &group)).await;
    f.world.worker(&[]);
    f.serve();
    let approve = f.button(&group, "approve");
    let reject = f.button(&group, "reject");
    let now = chrono::Utc::now().timestamp();

    // Bad signature and stale or future timestamps: 401 before anything is read.
    let body = f.body(APPROVER, "approve", &approve, "bad");
    assert_eq!(f.post_signed(&body, now, "not-the-secret").await, 401);
    assert_eq!(f.post_signed(&body, now - 6 * 60, SECRET).await, 401);
    assert_eq!(f.post_signed(&body, now + 6 * 60, SECRET).await, 401);

    // Someone who is not an approver.
    assert_eq!(
        f.click(STRANGER, "approve", &approve, "stranger").await,
        200
    );
    let r = f.reply("stranger").await;
    assert_eq!(r["response_type"], "ephemeral");
    assert!(r.to_string().contains("not an approver"), "{r:#}");

    // A button for another plan hash (tampered token).
    let (head, _) = approve.rsplit_once('.').unwrap();
    let forged = format!("{head}.{}", "0".repeat(64));
    assert_eq!(f.click(APPROVER, "approve", &forged, "forged").await, 200);
    assert!(f.reply("forged").await.to_string().contains("older plan"));
    assert_eq!(f.decisions(), 0);

    // Reject, then the same signed request replayed, then a second approver's click.
    let body = f.body(APPROVER, "reject", &reject, "reject");
    assert_eq!(f.post_signed(&body, now, SECRET).await, 200);
    wait_for_decision(&f, 1).await;
    assert_eq!(f.post_signed(&body, now, SECRET).await, 200);
    // The first reply replaced the message; the replay gets an ephemeral refusal.
    let deadline = Instant::now() + Duration::from_secs(20);
    while f.slack.responses_to("reject").len() < 2 {
        assert!(Instant::now() < deadline, "the replay was not answered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let replay = &f.slack.responses_to("reject")[1];
    assert_eq!(replay["response_type"], "ephemeral", "{replay:#}");
    assert!(replay.to_string().contains("Already decided"), "{replay:#}");
    assert_eq!(f.click(APPROVER_2, "approve", &approve, "late").await, 200);
    assert!(
        f.reply("late")
            .await
            .to_string()
            .contains("Already decided")
    );
    assert_eq!(f.decisions(), 1);

    f.world.worker(&[]);
    assert_eq!(
        open_ports(&f.world, &group).await,
        [22, 443],
        "nothing was changed"
    );
    let records = f.world.records();
    let rejected = by_outcome(&records, "rejected");
    assert_eq!(rejected.len(), 1, "{records:#?}");
    assert_eq!(rejected[0]["approval"]["by"], APPROVER);
    assert!(rejected[0]["calls"].as_array().unwrap().is_empty());
    assert!(by_outcome(&records, "fixed").is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn expired_request_cannot_be_approved_and_is_swept() {
    let mut f = Fleet::new("").await;
    // A one-second ttl, set in the config file's [approvals] section.
    let cfg = std::fs::read_to_string(&f.world.config).unwrap();
    std::fs::write(
        &f.world.config,
        cfg.replace("[approvals]\n", "[approvals]\nttl = \"1s\"\n"),
    )
    .unwrap();
    let group = open_group(&f.world, "expiring").await;
    f.world.send(&sg_event("e-exp", &group)).await;
    f.world.worker(&[]);
    f.serve();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let token = f.button(&group, "approve");
    assert_eq!(f.click(APPROVER, "approve", &token, "late").await, 200);
    assert!(f.reply("late").await.to_string().contains("expired"));

    let out = f.world.redress(&["approvals", "sweep"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "expired 1 request(s)\n"
    );
    let records = f.world.records();
    assert_eq!(by_outcome(&records, "expired").len(), 1, "{records:#?}");
    assert!(!f.slack.updates().is_empty(), "the message says it expired");
    f.world.worker(&[]);
    assert_eq!(open_ports(&f.world, &group).await, [22, 443]);
    // A second sweep finds nothing more to expire.
    let out = f.world.redress(&["approvals", "sweep"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "expired 0 request(s)\n"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_resource_changed_since_approval_is_not_touched() {
    let mut f = Fleet::new("").await;
    let group = open_group(&f.world, "drifting").await;
    f.world.send(&sg_event("e-drift", &group)).await;
    f.world.worker(&[]);
    f.serve();
    let token = f.button(&group, "approve");
    assert_eq!(f.click(APPROVER, "approve", &token, "r").await, 200);
    wait_for_decision(&f, 1).await;
    // Between the click and the worker, someone opens RDP too: not what was approved.
    open_port(&f.world, &group, 3389).await;
    f.world.worker(&[]);
    assert_eq!(open_ports(&f.world, &group).await, [22, 443, 3389]);
    let records = f.world.records();
    let failed = by_outcome(&records, "failed");
    assert_eq!(failed.len(), 1, "{records:#?}");
    assert!(
        failed[0]["error"]
            .as_str()
            .unwrap()
            .contains("changed since the approval")
    );
    assert!(failed[0]["calls"].as_array().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_repeat_finding_while_pending_opens_no_second_request() {
    let f = Fleet::new("").await;
    let group = open_group(&f.world, "repeat").await;
    f.world.send(&sg_event("e-rep-1", &group)).await;
    f.world.worker(&[]);
    f.world.send(&sg_event("e-rep-2", &group)).await;
    f.world.worker(&[]);
    let records = f.world.records();
    let held = by_outcome(&records, "held");
    assert_eq!(held.len(), 2);
    assert!(
        held[1]["reason"]
            .as_str()
            .unwrap()
            .contains("already pending as request")
    );
    assert_eq!(f.requests().len(), 1, "one request message");
    assert_eq!(
        std::fs::read_dir(f.world.store().join("approvals/requests"))
            .unwrap()
            .count(),
        1
    );
    assert_eq!(
        f.slack.posts().len(),
        2,
        "the repeat is noted in the thread"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn dry_run_posts_a_change_review_without_buttons() {
    let f = Fleet::new("mode = \"dry-run\"").await;
    let group = open_group(&f.world, "review").await;
    f.world.send(&sg_event("e-review", &group)).await;
    f.world.worker(&[]);
    assert_eq!(by_outcome(&f.world.records(), "would-fix").len(), 1);
    let posts = f.slack.posts();
    assert_eq!(posts.len(), 1, "{posts:#?}");
    assert!(
        !posts[0].to_string().contains("\"action_id\""),
        "no buttons"
    );
    assert!(posts[0].to_string().contains(&group));
    assert_eq!(open_ports(&f.world, &group).await, [22, 443]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_decision_job_without_a_decision_record_is_refused() {
    let f = Fleet::new("").await;
    let group = open_group(&f.world, "forged-job").await;
    f.world.send(&sg_event("e-forge", &group)).await;
    f.world.worker(&[]);
    let request = std::fs::read_dir(f.world.store().join("approvals/requests"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let id = request.file_stem().unwrap().to_str().unwrap();
    // Someone with queue access forges "approved": the worker finds no decision and acts not.
    f.world
        .send(&json!({"redress": "decision", "request": id}).to_string())
        .await;
    f.world.worker(&[]);
    assert_eq!(open_ports(&f.world, &group).await, [22, 443]);
    assert_eq!(f.world.records().len(), 1, "only the held record");
    assert_eq!(f.world.visible_messages(&f.world.queue).await, 0);
}
