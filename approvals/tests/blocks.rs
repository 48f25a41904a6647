//! Block Kit messages: snapshots for a security-group and an IAM access-key request, and
//! the guarantee that text from a finding cannot ping, mention or link.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::{DateTime, TimeZone, Utc};
use redress_approvals::blocks::{
    decided_message, ephemeral, escape, outcome_message, repeat_note, request_message,
    review_message,
};
use redress_approvals::{ApprovalRequest, DecisionRecord, Token, Verdict};
use redress_playbooks::actions::{Category, Params, Value as P};
use redress_playbooks::plan::PlanStep;
use serde_json::{Value, json};

fn at(h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 4, h, m, 0).unwrap()
}

fn params(pairs: &[(&str, P)]) -> Params {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

const HASH: &str = "sha256:9f2c4e1ab0d35f6e7c8b9a0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f";

fn sg_request() -> ApprovalRequest {
    ApprovalRequest {
        id: "01956a3c-1f2e-7d4b-9a61-2c3d4e5f6a7b".into(),
        evidence: "01956a3c-1f2e-7d4b-9a61-2c3d4e5f6a7b".into(),
        finding: json!({
            "source": "config",
            "kind": "restricted-ssh",
            "account": "111122223333",
            "region": "eu-west-1",
            "resource_type": "AWS::EC2::SecurityGroup",
            "resource_id": "sg-0a1b2c3d4e5f60718",
            "resource_arn": "arn:aws:ec2:eu-west-1:111122223333:security-group/sg-0a1b2c3d4e5f60718",
            "severity": null,
            "event_id": "7bf73129-1428-4cd3-a780-95db273d1602",
            "tags": {"team": "payments", "env": "prod"},
        }),
        playbook: "sg-revoke-open-admin-ports".into(),
        playbook_sha256: "ab".repeat(32),
        steps: vec![PlanStep {
            action: "ec2.revoke_open_ingress".into(),
            params: params(&[
                ("group_id", P::Str("sg-0a1b2c3d4e5f60718".into())),
                ("ports", P::IntList(vec![22, 3389])),
                ("cidrs", P::StrList(vec!["0.0.0.0/0".into(), "::/0".into()])),
            ]),
            category: Category::Exposure,
            description: "Revoke the ingress rules of security group sg-0a1b2c3d4e5f60718 that open any of ports 22, 3389 to 0.0.0.0/0, ::/0; every other rule stays. Connections from anywhere else to those ports through this group stop.".into(),
        }],
        before: json!([{
            "group_id": "sg-0a1b2c3d4e5f60718",
            "group_name": "bastion",
            "vpc_id": "vpc-0f1e2d3c",
            "ingress": [
                {"rule_id": "sgr-0aaa", "protocol": "tcp", "from_port": 22, "to_port": 22, "cidr_ipv4": "0.0.0.0/0", "description": "temp debug"},
                {"rule_id": "sgr-0bbb", "protocol": "tcp", "from_port": 3389, "to_port": 3389, "cidr_ipv6": "::/0"},
                {"rule_id": "sgr-0ccc", "protocol": "tcp", "from_port": 443, "to_port": 443, "cidr_ipv4": "0.0.0.0/0"},
                {"rule_id": "sgr-0ddd", "protocol": "tcp", "from_port": 22, "to_port": 22, "cidr_ipv4": "10.0.0.0/8"}
            ],
            "offending": [
                {"rule_id": "sgr-0aaa", "protocol": "tcp", "from_port": 22, "to_port": 22, "cidr_ipv4": "0.0.0.0/0", "description": "temp debug"},
                {"rule_id": "sgr-0bbb", "protocol": "tcp", "from_port": 3389, "to_port": 3389, "cidr_ipv6": "::/0"}
            ]
        }]),
        planned_calls: vec![json!({
            "action": "ec2:RevokeSecurityGroupIngress",
            "params": {"group_id": "sg-0a1b2c3d4e5f60718", "security_group_rule_ids": ["sgr-0aaa", "sgr-0bbb"]},
            "result": null,
        })],
        approvers: vec!["U0ABCDEF1".into(), "U0ABCDEF2".into()],
        channel: Some("C0PAYMENTS".into()),
        plan_hash: HASH.into(),
        reason: "step ec2.revoke_open_ingress is of category exposure: a human approves changes to network reachability".into(),
        created_at: at(9, 30),
        expires_at: at(9, 30) + chrono::Duration::hours(24),
    }
}

fn key_request() -> ApprovalRequest {
    ApprovalRequest {
        id: "01956a40-aaaa-7bbb-8ccc-0123456789ab".into(),
        evidence: "01956a40-aaaa-7bbb-8ccc-0123456789ab".into(),
        finding: json!({
            "source": "guardduty",
            "kind": "UnauthorizedAccess:IAMUser/MaliciousIPCaller",
            "account": "444455556666",
            "region": "us-east-1",
            "resource_type": "AWS::IAM::AccessKey",
            "resource_id": "AKIAIOSFODNN7EXAMPLE",
            "resource_arn": null,
            "severity": 8.0,
            "event_id": "c2a1f1d4-6b1e-4c59-9f55-4d3c2b1a0f9e",
        }),
        playbook: "iam-deactivate-exposed-access-key".into(),
        playbook_sha256: "cd".repeat(32),
        steps: vec![PlanStep {
            action: "iam.deactivate_access_key".into(),
            params: params(&[
                ("user", P::Str("ci-deployer".into())),
                ("access_key_id", P::Str("AKIAIOSFODNN7EXAMPLE".into())),
            ]),
            category: Category::Iam,
            description: "Deactivate access key AKIAIOSFODNN7EXAMPLE of IAM user ci-deployer: every request signed with it fails from now on, including any legitimate automation still using it.".into(),
        }],
        before: json!([{
            "user": "ci-deployer",
            "resolved_from": null,
            "access_key_id": "AKIAIOSFODNN7EXAMPLE",
            "status": "Active"
        }]),
        planned_calls: vec![json!({
            "action": "iam:UpdateAccessKey",
            "params": {"UserName": "ci-deployer", "AccessKeyId": "AKIAIOSFODNN7EXAMPLE", "Status": "Inactive"},
            "result": null,
        })],
        approvers: vec!["U0ABCDEF1".into()],
        channel: None,
        plan_hash: HASH.into(),
        reason: "step iam.deactivate_access_key is of category iam: a human approves changes to identities".into(),
        created_at: at(10, 0),
        expires_at: at(10, 0) + chrono::Duration::hours(4),
    }
}

fn decision(verdict: Verdict, req: &ApprovalRequest) -> DecisionRecord {
    DecisionRecord {
        request: req.id.clone(),
        verdict,
        by: if verdict == Verdict::Expire {
            "redress".into()
        } else {
            "U0ABCDEF1".into()
        },
        at: at(11, 15),
        plan_hash: req.plan_hash.clone(),
        response_url: None,
    }
}

fn snapshot(msg: (String, Value)) -> Value {
    json!({"text": msg.0, "blocks": msg.1})
}

fn actions_block(blocks: &Value) -> Option<&Value> {
    blocks
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["type"] == "actions")
}

/// Slack's limits that a message must respect to be accepted at all.
fn assert_within_slack_limits(blocks: &Value) {
    let blocks = blocks.as_array().unwrap();
    assert!(blocks.len() <= 50, "{} blocks", blocks.len());
    for b in blocks {
        if let Some(t) = b["text"]["text"].as_str() {
            let max = if b["type"] == "header" { 150 } else { 3000 };
            assert!(
                t.chars().count() <= max,
                "{} chars in {b}",
                t.chars().count()
            );
        }
        if let Some(fields) = b["fields"].as_array() {
            assert!(fields.len() <= 10);
            for f in fields {
                assert!(f["text"].as_str().unwrap().chars().count() <= 2000);
            }
        }
    }
}

#[test]
fn security_group_request_message() {
    let (text, blocks) = request_message(&sg_request());
    assert_within_slack_limits(&blocks);
    insta::assert_json_snapshot!(snapshot((text, blocks)));
}

#[test]
fn access_key_request_message() {
    let (text, blocks) = request_message(&key_request());
    assert_within_slack_limits(&blocks);
    insta::assert_json_snapshot!(snapshot((text, blocks)));
}

#[test]
fn security_group_review_message() {
    insta::assert_json_snapshot!(snapshot(review_message(&sg_request())));
}

#[test]
fn access_key_review_message() {
    insta::assert_json_snapshot!(snapshot(review_message(&key_request())));
}

#[test]
fn security_group_decided_messages() {
    let req = sg_request();
    for (name, verdict) in [
        ("approved", Verdict::Approve),
        ("rejected", Verdict::Reject),
        ("expired", Verdict::Expire),
    ] {
        let msg = decided_message(&req, &decision(verdict, &req));
        assert!(actions_block(&msg.1).is_none(), "{name}: buttons left");
        insta::assert_json_snapshot!(format!("security_group_decided_{name}"), snapshot(msg));
    }
}

#[test]
fn access_key_decided_approved_message() {
    let req = key_request();
    insta::assert_json_snapshot!(snapshot(decided_message(
        &req,
        &decision(Verdict::Approve, &req)
    )));
}

#[test]
fn outcome_messages() {
    let sg = sg_request();
    let key = key_request();
    let all: Vec<Value> = [
        (
            &sg,
            "fixed",
            "Revoked 2 ingress rules; re-read shows none open.",
        ),
        (
            &sg,
            "verify-failed",
            "After revoking, rule sgr-0aaa is still present.",
        ),
        (&key, "already-compliant", "The key was already Inactive."),
        (
            &key,
            "failed",
            "iam:UpdateAccessKey: AccessDenied <not authorized>",
        ),
        (&key, "rejected", ""),
        (&sg, "expired", ""),
    ]
    .into_iter()
    .map(|(req, outcome, detail)| snapshot(outcome_message(req, outcome, detail)))
    .collect();
    insta::assert_json_snapshot!(all);
}

#[test]
fn repeat_note_message() {
    insta::assert_json_snapshot!(snapshot(repeat_note(
        &sg_request(),
        "0f9d2c1e-5555-4444-8888-999999999999"
    )));
}

#[test]
fn buttons_carry_the_token_and_approve_asks_for_confirmation() {
    let req = sg_request();
    let (_, blocks) = request_message(&req);
    let actions = actions_block(&blocks).expect("an actions block");
    let elements = actions["elements"].as_array().unwrap();
    assert_eq!(elements.len(), 2);
    let token = Token {
        request: req.id.clone(),
        plan_hash: req.plan_hash.clone(),
    };
    for (e, id, style) in [
        (&elements[0], "approve", "primary"),
        (&elements[1], "reject", "danger"),
    ] {
        assert_eq!(e["type"], "button");
        assert_eq!(e["action_id"], id);
        assert_eq!(e["style"], style);
        let value = e["value"].as_str().unwrap();
        assert_eq!(Token::decode(value), Some(token.clone()));
    }
    let confirm = &elements[0]["confirm"];
    assert_eq!(confirm["confirm"]["text"], "Approve");
    assert_eq!(confirm["deny"]["text"], "Cancel");
    let dialog = confirm["text"]["text"].as_str().unwrap();
    assert!(dialog.contains("sg-0a1b2c3d4e5f60718"), "{dialog}");
    assert!(dialog.chars().count() <= 300, "{dialog}");
    assert!(elements[1].get("confirm").is_none());
}

#[test]
fn review_has_no_buttons() {
    for req in [sg_request(), key_request()] {
        let (_, blocks) = review_message(&req);
        assert!(actions_block(&blocks).is_none());
        assert!(blocks.to_string().contains("Dry-run"));
    }
}

#[test]
fn the_request_shows_what_an_approver_needs() {
    let (text, blocks) = request_message(&sg_request());
    assert!(!text.contains('\n'), "{text}");
    let all = blocks.to_string();
    for needle in [
        "`tcp 22 from 0.0.0.0/0`",
        "`tcp 3389 from ::/0`",
        "`ec2:RevokeSecurityGroupIngress`",
        "`sgr-0aaa`, `sgr-0bbb`",
        "https://eu-west-1.console.aws.amazon.com/ec2/home?region=eu-west-1#SecurityGroup:groupId=sg-0a1b2c3d4e5f60718",
        "<@U0ABCDEF1>, <@U0ABCDEF2>",
        "<!date^1741167000^{date_short_pretty} {time}|2025-03-05 09:30 UTC>",
        "category exposure",
        "`team=payments`",
    ] {
        assert!(all.contains(needle), "missing {needle} in {all}");
    }
    let (_, blocks) = request_message(&key_request());
    let all = blocks.to_string();
    assert!(
        all.contains("https://console.aws.amazon.com/iam/home#/users/details/ci-deployer"),
        "{all}"
    );
    assert!(all.contains("is *Active*"), "{all}");
}

#[test]
fn no_console_link_outside_the_aws_partition() {
    let mut req = sg_request();
    req.finding["region"] = json!("cn-north-1");
    req.finding["resource_arn"] =
        json!("arn:aws-cn:ec2:cn-north-1:111122223333:security-group/sg-0a1b2c3d4e5f60718");
    let (_, blocks) = request_message(&req);
    assert!(
        !blocks.to_string().contains("console.aws.amazon.com"),
        "{blocks}"
    );

    let mut req = key_request();
    req.finding["region"] = json!("us-gov-west-1");
    let (_, blocks) = request_message(&req);
    assert!(
        !blocks.to_string().contains("console.aws.amazon.com"),
        "{blocks}"
    );
}

#[test]
fn long_state_is_cut_to_slack_limits() {
    let mut req = sg_request();
    let rule = json!({"rule_id": "sgr-0aaa", "protocol": "tcp", "from_port": 22, "to_port": 22, "cidr_ipv4": "0.0.0.0/0", "description": "x".repeat(500)});
    req.before[0]["offending"] = Value::Array(vec![rule; 400]);
    req.reason = "r&".repeat(5000);
    req.steps[0].description = "<d>".repeat(5000);
    req.planned_calls = vec![req.planned_calls[0].clone(); 200];
    for msg in [request_message(&req), review_message(&req)] {
        assert_within_slack_limits(&msg.1);
        assert!(msg.1.to_string().contains("… and 392 more"), "{}", msg.1);
    }
    // A generic state (an action without its own summary) is cut too.
    let mut req = key_request();
    req.steps[0].action = "s3.put_public_access_block".into();
    req.before = json!([{"bucket": "b", "policy": "p".repeat(10_000), "acl": [1, 2, 3]}]);
    let (_, blocks) = request_message(&req);
    assert_within_slack_limits(&blocks);
    assert!(
        blocks.to_string().contains("```\\nacl: [1,2,3]\\n"),
        "{blocks}"
    );
}

const HOSTILE: &str = "<!channel> <@U123> <https://evil|x> & *bold*";

/// Raw forms that must never reach Slack from a finding.
fn assert_no_raw_markup(json: &str, context: &str) {
    for raw in [
        "<!channel>",
        "<@U123>",
        "<https://evil",
        "evil|x>",
        "& *bold*",
    ] {
        assert!(!json.contains(raw), "{context}: raw {raw:?} in {json}");
    }
}

#[test]
fn hostile_text_from_a_finding_is_escaped_everywhere() {
    let mut req = sg_request();
    req.finding["resource_id"] = json!(HOSTILE);
    req.finding["kind"] = json!(HOSTILE);
    req.finding["event_id"] = json!(HOSTILE);
    req.finding["tags"] = json!({"team": HOSTILE, HOSTILE: "v"});
    req.before[0]["group_name"] = json!(HOSTILE);
    req.before[0]["group_id"] = json!(HOSTILE);
    req.before[0]["offending"][0]["description"] = json!(HOSTILE);
    req.before[0]["offending"][0]["cidr_ipv4"] = json!(HOSTILE);
    req.steps[0].description = format!("Revoke rules of {HOSTILE}");
    req.steps[0]
        .params
        .insert("group_id".into(), P::Str(HOSTILE.into()));
    req.planned_calls[0]["params"]["group_id"] = json!(HOSTILE);
    req.planned_calls[0]["action"] = json!(HOSTILE);
    req.reason = format!("because {HOSTILE}");
    req.approvers.push(HOSTILE.into());

    let mut generic = key_request();
    generic.steps[0].action = "s3.put_public_access_block".into();
    generic.steps[0]
        .params
        .insert("user".into(), P::Str(HOSTILE.into()));
    generic.finding["resource_type"] = json!("AWS::IAM::User");
    generic.before = json!([{"bucket": HOSTILE, HOSTILE: [HOSTILE], "acl": {"grant": HOSTILE}}]);

    for (name, req) in [("security group", &req), ("generic", &generic)] {
        let messages = [
            ("request", request_message(req)),
            ("review", review_message(req)),
            (
                "decided",
                decided_message(req, &decision(Verdict::Approve, req)),
            ),
            ("outcome", outcome_message(req, "failed", HOSTILE)),
            ("repeat", repeat_note(req, HOSTILE)),
        ];
        for (kind, (text, blocks)) in messages {
            let context = format!("{name} {kind}");
            assert_no_raw_markup(&text, &context);
            let json = blocks.to_string();
            assert_no_raw_markup(&json, &context);
            assert!(json.contains("&lt;!channel&gt;"), "{context}: {json}");
        }
    }
    // The console link built from a hostile id stays one link: the id is percent-encoded.
    let mut bucket = sg_request();
    bucket.finding["resource_type"] = json!("AWS::S3::Bucket");
    bucket.finding["resource_id"] = json!("b|<x>");
    let (_, blocks) = request_message(&bucket);
    assert!(
        blocks.to_string().contains(
            "<https://s3.console.aws.amazon.com/s3/buckets/b%7C%3Cx%3E?region=eu-west-1|b|&lt;x&gt;>"
        ),
        "{blocks}"
    );
}

#[test]
fn a_hostile_decider_id_is_not_a_mention() {
    let req = sg_request();
    let mut d = decision(Verdict::Reject, &req);
    d.by = HOSTILE.into();
    let (_, blocks) = decided_message(&req, &d);
    assert_no_raw_markup(&blocks.to_string(), "decided");
}

#[test]
fn every_mrkdwn_text_is_verbatim() {
    fn walk(v: &Value, out: &mut Vec<Value>) {
        match v {
            Value::Object(m) => {
                if m.get("type") == Some(&json!("mrkdwn")) {
                    out.push(v.clone());
                }
                m.values().for_each(|x| walk(x, out));
            }
            Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    let mut texts = Vec::new();
    walk(&request_message(&sg_request()).1, &mut texts);
    assert!(!texts.is_empty());
    for t in texts {
        assert_eq!(t["verbatim"], true, "{t}");
    }
}

#[test]
fn escape_and_ephemeral_contract() {
    assert_eq!(
        escape(HOSTILE, 200),
        "&lt;!channel&gt; &lt;@U123&gt; &lt;https://evil|x&gt; &amp; *bold*"
    );
    assert_eq!(escape("0123456789", 5), "0123…");
    assert_eq!(
        ephemeral("Already decided."),
        json!({"response_type": "ephemeral", "replace_original": false, "text": "Already decided."})
    );
}
