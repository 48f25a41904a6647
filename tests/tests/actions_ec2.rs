//! The EC2 actions of the catalog against moto_server: capture the drift, dry-run (EC2
//! answers `DryRunOperation` and nothing changes), apply, verify by re-capture, and revert to
//! the before-state.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use aws_sdk_ec2::types::{
    Filter, InstanceType, IpPermission, IpRange, Ipv6Range, ResourceType, Tag, TagSpecification,
};
use chrono::Utc;
use redress_playbooks::actions::{Params, Value, lookup};
use redress_tests::Moto;
use redress_tests::moto::{ACCOUNT, REGION};
use redress_workers::actions::{Action, Call, Ctx, State, implementation};
use redress_workers::aws::Clients;
use serde_json::json;

const AMI: &str = "ami-12c6146b";

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

    fn cx<'a>(&'a self, remediation_id: &'a str) -> Ctx<'a> {
        Ctx {
            aws: &self.clients,
            remediation_id,
            playbook_id: "ec2-test",
            event_id: "evt-1",
            finding_time: Utc::now(),
            now: Utc::now(),
        }
    }

    fn ec2(&self) -> &aws_sdk_ec2::Client {
        &self.clients.ec2
    }

    async fn default_vpc(&self) -> String {
        let out = self
            .ec2()
            .describe_vpcs()
            .filters(Filter::builder().name("is-default").values("true").build())
            .send()
            .await
            .unwrap();
        out.vpcs()[0].vpc_id().unwrap().to_owned()
    }

    async fn group(&self, name: &str) -> String {
        let vpc = self.default_vpc().await;
        self.ec2()
            .create_security_group()
            .group_name(name)
            .description(format!("{name} test group"))
            .vpc_id(vpc)
            .send()
            .await
            .unwrap()
            .group_id()
            .unwrap()
            .to_owned()
    }

    async fn instance(&self, groups: &[&str]) -> String {
        let out = self
            .ec2()
            .run_instances()
            .image_id(AMI)
            .instance_type(InstanceType::T3Micro)
            .min_count(1)
            .max_count(1)
            .set_security_group_ids(Some(groups.iter().map(|g| (*g).to_owned()).collect()))
            .send()
            .await
            .unwrap();
        out.instances()[0].instance_id().unwrap().to_owned()
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

fn assert_dry_run_ok(calls: &[Call]) {
    assert!(!calls.is_empty());
    for c in calls {
        assert_eq!(c.result["code"], "DryRunOperation", "{c:?}");
    }
}

const EBS: &str = "ec2.enable_ebs_encryption_by_default";
const INGRESS: &str = "ec2.revoke_open_ingress";
const SNAPSHOT: &str = "ec2.snapshot_instance_volumes";
const ISOLATE: &str = "ec2.isolate_instance";

#[tokio::test]
async fn ebs_encryption_by_default_is_enabled_verified_and_disabled_again() {
    let env = Env::start();
    let cx = env.cx("rem-ebs");
    let a = action(EBS);
    let p = params(EBS, &[]);

    let before = a.capture(&cx, &p).await.unwrap();
    assert_eq!(
        before,
        json!({"region": REGION, "ebs_encryption_by_default": false})
    );
    assert!(!a.compliant(&p, &before, &cx));

    let dry = a.dry_run(&cx, &p, &before).await.unwrap();
    assert_eq!(dry.len(), 1);
    assert_eq!(dry[0].action, "ec2:EnableEbsEncryptionByDefault");
    assert_dry_run_ok(&dry);
    assert_eq!(
        a.capture(&cx, &p).await.unwrap(),
        before,
        "dry run changes nothing"
    );

    let calls = a.apply(&cx, &p, &before).await.unwrap();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].action, "ec2:EnableEbsEncryptionByDefault");
    assert_eq!(calls[0].result, json!({"ebs_encryption_by_default": true}));
    let after = a.capture(&cx, &p).await.unwrap();
    assert!(a.compliant(&p, &after, &cx), "verified");
    assert!(a.planned_calls(&p, &after, &cx).is_empty());
    // Reverting a state that was already enabled makes no call.
    assert!(a.revert(&cx, &p, &after).await.unwrap().is_empty());

    let reverted = a.revert(&cx, &p, &before).await.unwrap();
    assert_eq!(reverted.len(), 1);
    assert_eq!(reverted[0].action, "ec2:DisableEbsEncryptionByDefault");
    assert_eq!(a.capture(&cx, &p).await.unwrap(), before);
}

fn perm(protocol: &str, from: i32, to: i32, cidr: &str, description: Option<&str>) -> IpPermission {
    let mut p = IpPermission::builder()
        .ip_protocol(protocol)
        .from_port(from)
        .to_port(to);
    if cidr.contains(':') {
        p = p.ipv6_ranges(
            Ipv6Range::builder()
                .cidr_ipv6(cidr)
                .set_description(description.map(str::to_owned))
                .build(),
        );
    } else {
        p = p.ip_ranges(
            IpRange::builder()
                .cidr_ip(cidr)
                .set_description(description.map(str::to_owned))
                .build(),
        );
    }
    p.build()
}

/// The rules without their ids, sorted: what a revert must restore.
fn shapes(rules: &serde_json::Value) -> Vec<serde_json::Value> {
    let mut out: Vec<serde_json::Value> = rules
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let mut r = r.clone();
            r.as_object_mut().unwrap().remove("rule_id");
            r
        })
        .collect();
    out.sort_by_key(|r| r.to_string());
    out
}

fn rule_ids(rules: &serde_json::Value) -> Vec<String> {
    let mut ids: Vec<String> = rules
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rule_id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn revoke_open_ingress_keeps_other_rules_and_reverts_exactly() {
    let env = Env::start();
    let cx = env.cx("rem-sg");
    let gid = env.group("web").await;
    let open = [
        perm("tcp", 22, 22, "0.0.0.0/0", Some("ssh from anywhere")),
        perm("tcp", 22, 22, "::/0", None),
        perm("tcp", 3389, 3389, "0.0.0.0/0", None),
        // A range covering a high-risk port (3306).
        perm("tcp", 3300, 3310, "0.0.0.0/0", None),
        perm("udp", 20, 25, "0.0.0.0/0", None),
    ];
    let kept = [
        perm("tcp", 443, 443, "0.0.0.0/0", Some("https")),
        perm("tcp", 22, 22, "10.0.0.0/8", Some("ssh from the office")),
        perm("icmp", -1, -1, "0.0.0.0/0", None),
    ];
    for p in open.iter().chain(kept.iter()) {
        env.ec2()
            .authorize_security_group_ingress()
            .group_id(&gid)
            .ip_permissions(p.clone())
            .send()
            .await
            .unwrap();
    }
    let a = action(INGRESS);
    let p = params(INGRESS, &[("group_id", s(&gid))]);

    let before = a.capture(&cx, &p).await.unwrap();
    assert_eq!(before["group_id"], gid.as_str());
    assert_eq!(before["group_name"], "web");
    assert_eq!(before["ingress"].as_array().unwrap().len(), 8, "{before:#}");
    let offending = before["offending"].as_array().unwrap();
    assert_eq!(offending.len(), 5, "{before:#}");
    assert!(
        offending
            .iter()
            .any(|r| r["description"] == "ssh from anywhere" && r["cidr_ipv4"] == "0.0.0.0/0")
    );
    assert!(
        offending
            .iter()
            .all(|r| r["from_port"] != 443 && r["protocol"] != "icmp")
    );
    assert!(!a.compliant(&p, &before, &cx));

    // Dry run: the revoke is sent with DryRun and answered DryRunOperation; no rule goes.
    let dry = a.dry_run(&cx, &p, &before).await.unwrap();
    assert_eq!(dry.len(), 1);
    assert_eq!(dry[0].action, "ec2:RevokeSecurityGroupIngress");
    assert_dry_run_ok(&dry);
    assert_eq!(
        a.capture(&cx, &p).await.unwrap(),
        before,
        "dry run changes nothing"
    );

    let calls = a.apply(&cx, &p, &before).await.unwrap();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].action, "ec2:RevokeSecurityGroupIngress");
    let mut revoked: Vec<String> = calls[0].params["security_group_rule_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    revoked.sort();
    assert_eq!(revoked, rule_ids(&before["offending"]));
    assert_eq!(
        a.planned_calls(&p, &before, &cx),
        vec![Call::new(&calls[0].action, calls[0].params.clone())]
    );

    let after = a.capture(&cx, &p).await.unwrap();
    assert!(a.compliant(&p, &after, &cx), "verified: {after:#}");
    assert_eq!(after["offending"], json!([]));
    // Every other rule stays, ids included.
    let kept_before: Vec<serde_json::Value> = before["ingress"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| !before["offending"].as_array().unwrap().contains(r))
        .cloned()
        .collect();
    assert_eq!(rule_ids(&after["ingress"]), rule_ids(&json!(kept_before)));
    assert_eq!(shapes(&after["ingress"]), shapes(&json!(kept_before)));
    assert!(a.planned_calls(&p, &after, &cx).is_empty());

    let reverted = a.revert(&cx, &p, &before).await.unwrap();
    assert_eq!(reverted.len(), 5);
    for c in &reverted {
        assert_eq!(c.action, "ec2:AuthorizeSecurityGroupIngress");
        assert_eq!(
            c.result["security_group_rule_ids"]
                .as_array()
                .unwrap()
                .len(),
            1,
            "{c:?}"
        );
    }
    let restored = a.capture(&cx, &p).await.unwrap();
    // Re-created rules have new ids; everything else is as before.
    assert_eq!(shapes(&restored["ingress"]), shapes(&before["ingress"]));
    assert_eq!(shapes(&restored["offending"]), shapes(&before["offending"]));
    // A second revert finds every rule back and makes no call.
    assert!(a.revert(&cx, &p, &before).await.unwrap().is_empty());
}

async fn snapshot_tags(env: &Env, snapshot_id: &str) -> Vec<(String, String)> {
    let out = env
        .ec2()
        .describe_snapshots()
        .snapshot_ids(snapshot_id)
        .send()
        .await
        .unwrap();
    let mut tags: Vec<(String, String)> = out.snapshots()[0]
        .tags()
        .iter()
        .map(|t| (t.key().unwrap().to_owned(), t.value().unwrap().to_owned()))
        .collect();
    tags.sort();
    tags
}

#[tokio::test]
async fn snapshot_instance_volumes_tags_one_snapshot_per_volume_and_keeps_them_on_revert() {
    let env = Env::start();
    let cx = env.cx("rem-snap");
    let gid = env.group("app").await;
    let iid = env.instance(&[&gid]).await;
    // A second, data volume.
    let az = env
        .ec2()
        .describe_instances()
        .instance_ids(&iid)
        .send()
        .await
        .unwrap()
        .reservations()[0]
        .instances()[0]
        .placement()
        .unwrap()
        .availability_zone()
        .unwrap()
        .to_owned();
    let vol = env
        .ec2()
        .create_volume()
        .availability_zone(az)
        .size(2)
        .send()
        .await
        .unwrap()
        .volume_id()
        .unwrap()
        .to_owned();
    env.ec2()
        .attach_volume()
        .instance_id(&iid)
        .volume_id(&vol)
        .device("/dev/sdf")
        .send()
        .await
        .unwrap();
    let a = action(SNAPSHOT);
    let p = params(SNAPSHOT, &[("instance_id", s(&iid))]);

    let before = a.capture(&cx, &p).await.unwrap();
    let volumes = before["volumes"].as_array().unwrap();
    assert_eq!(volumes.len(), 2, "{before:#}");
    assert!(
        volumes
            .iter()
            .any(|v| v["volume_id"] == vol.as_str() && v["size_gib"] == 2)
    );
    assert_eq!(before["snapshots"], json!([]));
    assert!(!a.compliant(&p, &before, &cx));

    let dry = a.dry_run(&cx, &p, &before).await.unwrap();
    assert_eq!(dry.len(), 2);
    assert!(dry.iter().all(|c| c.action == "ec2:CreateSnapshot"));
    assert_dry_run_ok(&dry);
    assert_eq!(
        a.capture(&cx, &p).await.unwrap(),
        before,
        "dry run changes nothing"
    );

    let calls = a.apply(&cx, &p, &before).await.unwrap();
    assert_eq!(calls.len(), 2);
    let mut snapped: Vec<&str> = calls
        .iter()
        .map(|c| c.params["volume_id"].as_str().unwrap())
        .collect();
    snapped.sort_unstable();
    let mut expected: Vec<&str> = volumes
        .iter()
        .map(|v| v["volume_id"].as_str().unwrap())
        .collect();
    expected.sort_unstable();
    assert_eq!(snapped, expected);
    for c in &calls {
        let vol_id = c.params["volume_id"].as_str().unwrap();
        assert_eq!(
            c.params["description"],
            format!("redress forensic snapshot of {vol_id} of {iid} (ec2-test)")
        );
        let snap = c.result["snapshot_id"].as_str().unwrap();
        assert!(snap.starts_with("snap-"));
        assert_eq!(
            snapshot_tags(&env, snap).await,
            vec![
                ("redress:event".to_owned(), "evt-1".to_owned()),
                ("redress:playbook".to_owned(), "ec2-test".to_owned()),
                ("redress:remediation".to_owned(), "rem-snap".to_owned()),
            ]
        );
    }

    let after = a.capture(&cx, &p).await.unwrap();
    assert_eq!(after["snapshots"].as_array().unwrap().len(), 2);
    assert!(a.compliant(&p, &after, &cx), "verified: {after:#}");
    // A redelivery of the same remediation finds its snapshots and takes no more.
    assert!(a.planned_calls(&p, &after, &cx).is_empty());
    assert!(a.apply(&cx, &p, &after).await.unwrap().is_empty());
    // Another remediation of the same instance takes its own.
    let other = env.cx("rem-other");
    let other_before = a.capture(&other, &p).await.unwrap();
    assert!(!a.compliant(&p, &other_before, &other));

    // Revert keeps the evidence.
    assert!(a.revert(&cx, &p, &before).await.unwrap().is_empty());
    assert_eq!(a.capture(&cx, &p).await.unwrap(), after);
}

fn group_ids(state: &State) -> Vec<String> {
    state["security_groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["group_id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn isolate_instance_swaps_in_a_closed_quarantine_group_and_restores_the_groups() {
    let env = Env::start();
    let cx = env.cx("rem-iso");
    let web = env.group("web").await;
    let admin = env.group("admin").await;
    let iid = env.instance(&[&web, &admin]).await;
    let a = action(ISOLATE);
    let p = params(ISOLATE, &[("instance_id", s(&iid))]);

    let before = a.capture(&cx, &p).await.unwrap();
    assert_eq!(group_ids(&before), vec![web.clone(), admin.clone()]);
    assert_eq!(before["quarantine_group"], serde_json::Value::Null);
    assert_eq!(before["vpc_id"], env.default_vpc().await.as_str());
    assert!(!a.compliant(&p, &before, &cx));

    let planned = a.planned_calls(&p, &before, &cx);
    let actions: Vec<&str> = planned.iter().map(|c| c.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "ec2:CreateSecurityGroup",
            "ec2:RevokeSecurityGroupEgress",
            "ec2:ModifyInstanceAttribute"
        ]
    );

    // Dry run: create and swap are sent with DryRun; no group appears, no group changes.
    let dry = a.dry_run(&cx, &p, &before).await.unwrap();
    assert_eq!(dry.len(), 3);
    assert_eq!(dry[0].result["code"], "DryRunOperation", "{dry:?}");
    assert_eq!(dry[1].result["code"], serde_json::Value::Null, "{dry:?}");
    assert_eq!(dry[2].result["code"], "DryRunOperation", "{dry:?}");
    assert_eq!(
        a.capture(&cx, &p).await.unwrap(),
        before,
        "dry run changes nothing"
    );

    let calls = a.apply(&cx, &p, &before).await.unwrap();
    let actions: Vec<&str> = calls.iter().map(|c| c.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "ec2:CreateSecurityGroup",
            "ec2:RevokeSecurityGroupEgress",
            "ec2:ModifyInstanceAttribute"
        ]
    );
    let qid = calls[0].result["group_id"].as_str().unwrap().to_owned();
    assert_eq!(calls[1].params["group_id"], qid.as_str());
    assert_eq!(
        calls[1].params["ip_permissions"],
        json!([{"protocol": "-1", "from_port": null, "to_port": null, "cidrs_ipv4": ["0.0.0.0/0"]}])
    );
    assert_eq!(
        calls[2].params,
        json!({"instance_id": iid, "groups": [qid]})
    );

    let after = a.capture(&cx, &p).await.unwrap();
    assert!(a.compliant(&p, &after, &cx), "verified: {after:#}");
    assert_eq!(group_ids(&after), vec![qid.clone()]);
    assert_eq!(
        after["quarantine_group"],
        json!({"group_id": qid, "group_name": "redress-quarantine", "ingress": [], "egress": []})
    );
    let q = env
        .ec2()
        .describe_security_groups()
        .group_ids(&qid)
        .send()
        .await
        .unwrap();
    let q = &q.security_groups()[0];
    assert_eq!(
        q.description(),
        Some("redress quarantine: no traffic in or out")
    );
    assert!(
        q.tags()
            .iter()
            .any(|t| t.key() == Some("redress:quarantine") && t.value() == Some("true"))
    );
    assert!(a.planned_calls(&p, &after, &cx).is_empty());

    let reverted = a.revert(&cx, &p, &before).await.unwrap();
    assert_eq!(reverted.len(), 1);
    assert_eq!(
        reverted[0].params,
        json!({"instance_id": iid, "groups": [web, admin]})
    );
    let restored = a.capture(&cx, &p).await.unwrap();
    assert_eq!(restored["security_groups"], before["security_groups"]);
    // The quarantine group stays for reuse: isolating again only swaps the groups.
    assert_eq!(restored["quarantine_group"], after["quarantine_group"]);
    let again = a.apply(&cx, &p, &restored).await.unwrap();
    let actions: Vec<&str> = again.iter().map(|c| c.action.as_str()).collect();
    assert_eq!(actions, ["ec2:ModifyInstanceAttribute"]);
    assert!(a.compliant(&p, &a.capture(&cx, &p).await.unwrap(), &cx));
}

#[tokio::test]
async fn isolate_instance_closes_a_reused_quarantine_group_that_was_given_rules() {
    let env = Env::start();
    let cx = env.cx("rem-iso2");
    let web = env.group("web").await;
    let iid = env.instance(&[&web]).await;
    let vpc = env.default_vpc().await;
    let qid = env
        .ec2()
        .create_security_group()
        .group_name("redress-quarantine")
        .description("made earlier")
        .vpc_id(vpc)
        .tag_specifications(
            TagSpecification::builder()
                .resource_type(ResourceType::SecurityGroup)
                .tags(
                    Tag::builder()
                        .key("redress:quarantine")
                        .value("true")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap()
        .group_id()
        .unwrap()
        .to_owned();
    env.ec2()
        .authorize_security_group_ingress()
        .group_id(&qid)
        .ip_permissions(perm("tcp", 22, 22, "10.0.0.0/8", None))
        .send()
        .await
        .unwrap();
    let a = action(ISOLATE);
    let p = params(ISOLATE, &[("instance_id", s(&iid))]);

    let before = a.capture(&cx, &p).await.unwrap();
    assert_eq!(before["quarantine_group"]["group_id"], qid.as_str());
    assert_eq!(
        before["quarantine_group"]["ingress"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        before["quarantine_group"]["egress"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    let dry = a.dry_run(&cx, &p, &before).await.unwrap();
    let actions: Vec<&str> = dry.iter().map(|c| c.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "ec2:RevokeSecurityGroupEgress",
            "ec2:RevokeSecurityGroupIngress",
            "ec2:ModifyInstanceAttribute"
        ]
    );
    assert_dry_run_ok(&dry);
    assert_eq!(
        a.capture(&cx, &p).await.unwrap(),
        before,
        "dry run changes nothing"
    );

    let calls = a.apply(&cx, &p, &before).await.unwrap();
    let actions: Vec<&str> = calls.iter().map(|c| c.action.as_str()).collect();
    assert_eq!(actions, actions_of(&dry));
    let after = a.capture(&cx, &p).await.unwrap();
    assert!(a.compliant(&p, &after, &cx), "verified: {after:#}");

    a.revert(&cx, &p, &before).await.unwrap();
    assert_eq!(
        a.capture(&cx, &p).await.unwrap()["security_groups"],
        before["security_groups"]
    );
}

fn actions_of(calls: &[Call]) -> Vec<&str> {
    calls.iter().map(|c| c.action.as_str()).collect()
}
