//! The EC2 / VPC playbooks end to end against moto_server: drift made with the SDK, the
//! event sent to the queue, `redress worker`, the `fixed` record and the state in the
//! emulator, then `redress rollback` and the before-state back. Where moto lacks the API
//! (snapshot block public access), the plan, gate and rendered parameters are tested.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use aws_sdk_ec2::types::{
    Filter, HttpTokensState, IpPermission, IpRange, LaunchPermission,
    LaunchPermissionModifications, OperationType, PermissionGroup, SnapshotAttributeName,
};
use chrono::Utc;
use redress_playbooks::actions::{Params, Value};
use redress_tests::events::config_noncompliant;
use redress_tests::moto::{ACCOUNT, REGION};
use redress_tests::world::{World, by_outcome};
use redress_workers::actions::{Ctx, implementation};
use redress_workers::aws::Clients;
use serde_json::{Value as Json, json};

const AMI: &str = "ami-12c6146b";

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

fn ec2(w: &World) -> aws_sdk_ec2::Client {
    aws_sdk_ec2::Client::new(&w.sdk)
}

fn records_of<'a>(records: &'a [Json], outcome: &str, playbook: &str) -> Vec<&'a Json> {
    by_outcome(records, outcome)
        .into_iter()
        .filter(|r| r["playbook"]["id"] == playbook && r["rollback_of"].is_null())
        .collect()
}

/// The one record with this outcome and playbook (rollbacks aside).
fn one(records: &[Json], outcome: &str, playbook: &str) -> Json {
    let found = records_of(records, outcome, playbook);
    assert_eq!(found.len(), 1, "{outcome} {playbook}: {records:#?}");
    found[0].clone()
}

fn assert_fixed(r: &Json, decision: &str, first_call: &str) {
    assert_eq!(r["decision"], decision, "{r:#}");
    assert_eq!(r["verified"], true, "{r:#}");
    assert_eq!(r["calls"][0]["action"], first_call, "{r:#}");
}

fn event(id: &str, rule: &str, resource_type: &str, resource_id: &str) -> String {
    config_noncompliant(id, rule, resource_type, resource_id, ACCOUNT, REGION)
}

/// A GuardDuty EC2 finding shaped like fixtures/events/gd-04 for `instance_id`.
fn guardduty_ec2(event_id: &str, finding_type: &str, instance_id: &str, role: &str) -> String {
    json!({
        "version": "0",
        "id": event_id,
        "detail-type": "GuardDuty Finding",
        "source": "aws.guardduty",
        "account": ACCOUNT,
        "time": "2026-03-14T05:01:44Z",
        "region": REGION,
        "resources": [],
        "detail": {
            "schemaVersion": "2.0",
            "accountId": ACCOUNT,
            "region": REGION,
            "partition": "aws",
            "id": format!("{event_id}-gd"),
            "arn": format!("arn:aws:guardduty:{REGION}:{ACCOUNT}:detector/abc/finding/{event_id}-gd"),
            "type": finding_type,
            "resource": {
                "resourceType": "Instance",
                "instanceDetails": {
                    "instanceId": instance_id,
                    "instanceType": "t3.micro",
                    "instanceState": "running",
                    "availabilityZone": "us-east-1a",
                    "imageId": AMI,
                    "tags": [{ "key": "Name", "value": "suspect" }],
                    "networkInterfaces": []
                }
            },
            "service": {
                "serviceName": "guardduty",
                "detectorId": "abc",
                "action": {
                    "actionType": "NETWORK_CONNECTION",
                    "networkConnectionAction": { "connectionDirection": "OUTBOUND", "protocol": "TCP", "blocked": false }
                },
                "resourceRole": role,
                "additionalInfo": {},
                "eventFirstSeen": "2026-03-14T03:20:11.000Z",
                "eventLastSeen": "2026-03-14T04:55:40.000Z",
                "archived": false,
                "count": 12
            },
            "severity": 5,
            "createdAt": "2026-03-14T03:26:48.340Z",
            "updatedAt": "2026-03-14T05:01:12.661Z",
            "title": format!("EC2 instance {instance_id} is communicating with Tor entry nodes."),
            "description": "test finding"
        }
    })
    .to_string()
}

async fn default_vpc(w: &World) -> String {
    let out = ec2(w)
        .describe_vpcs()
        .filters(Filter::builder().name("is-default").values("true").build())
        .send()
        .await
        .unwrap();
    out.vpcs()[0].vpc_id().unwrap().to_owned()
}

async fn instance(w: &World) -> String {
    let out = ec2(w)
        .run_instances()
        .image_id(AMI)
        .min_count(1)
        .max_count(1)
        .send()
        .await
        .unwrap();
    out.instances()[0].instance_id().unwrap().to_owned()
}

async fn public_snapshot(w: &World) -> String {
    let c = ec2(w);
    let volume = c
        .create_volume()
        .availability_zone("us-east-1a")
        .size(8)
        .send()
        .await
        .unwrap()
        .volume_id()
        .unwrap()
        .to_owned();
    let snap = c
        .create_snapshot()
        .volume_id(volume)
        .send()
        .await
        .unwrap()
        .snapshot_id()
        .unwrap()
        .to_owned();
    c.modify_snapshot_attribute()
        .snapshot_id(&snap)
        .attribute(SnapshotAttributeName::CreateVolumePermission)
        .operation_type(OperationType::Add)
        .group_names("all")
        .send()
        .await
        .unwrap();
    snap
}

async fn snapshot_public(w: &World, snap: &str) -> bool {
    ec2(w)
        .describe_snapshot_attribute()
        .snapshot_id(snap)
        .attribute(SnapshotAttributeName::CreateVolumePermission)
        .send()
        .await
        .unwrap()
        .create_volume_permissions()
        .iter()
        .any(|p| p.group() == Some(&PermissionGroup::All))
}

async fn http_tokens(w: &World, instance_id: &str) -> Option<HttpTokensState> {
    let out = ec2(w)
        .describe_instances()
        .instance_ids(instance_id)
        .send()
        .await
        .unwrap();
    out.reservations()[0].instances()[0]
        .metadata_options()
        .and_then(|m| m.http_tokens())
        .cloned()
}

/// `(ingress, egress)` rule descriptions `proto from-to source` of a group, sorted.
async fn rules(w: &World, group_id: &str) -> (Vec<String>, Vec<String>) {
    let out = ec2(w)
        .describe_security_group_rules()
        .filters(Filter::builder().name("group-id").values(group_id).build())
        .send()
        .await
        .unwrap();
    let (mut ingress, mut egress) = (Vec::new(), Vec::new());
    for r in out.security_group_rules() {
        let text = format!(
            "{} {}-{} {}",
            r.ip_protocol().unwrap_or("?"),
            r.from_port().unwrap_or(-1),
            r.to_port().unwrap_or(-1),
            r.cidr_ipv4().or(r.cidr_ipv6()).unwrap_or("?")
        );
        if r.is_egress() == Some(true) {
            egress.push(text);
        } else {
            ingress.push(text);
        }
    }
    ingress.sort();
    egress.sort();
    (ingress, egress)
}

fn tcp(from: i32, to: i32, cidr: &str) -> IpPermission {
    IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(from)
        .to_port(to)
        .ip_ranges(IpRange::builder().cidr_ip(cidr).build())
        .build()
}

async fn group_with(w: &World, name: &str, perms: Vec<IpPermission>) -> String {
    let vpc = default_vpc(w).await;
    let c = ec2(w);
    let id = c
        .create_security_group()
        .group_name(name)
        .description(format!("{name} test group"))
        .vpc_id(vpc)
        .send()
        .await
        .unwrap()
        .group_id()
        .unwrap()
        .to_owned();
    c.authorize_security_group_ingress()
        .group_id(&id)
        .set_ip_permissions(Some(perms))
        .send()
        .await
        .unwrap();
    id
}

async fn default_group(w: &World) -> String {
    let vpc = default_vpc(w).await;
    let out = ec2(w)
        .describe_security_groups()
        .filters(Filter::builder().name("vpc-id").values(vpc).build())
        .filters(
            Filter::builder()
                .name("group-name")
                .values("default")
                .build(),
        )
        .send()
        .await
        .unwrap();
    out.security_groups()[0].group_id().unwrap().to_owned()
}

async fn default_subnet(w: &World) -> (String, bool) {
    let out = ec2(w).describe_subnets().send().await.unwrap();
    let s = &out.subnets()[0];
    (
        s.subnet_id().unwrap().to_owned(),
        s.map_public_ip_on_launch().unwrap_or(false),
    )
}

async fn subnet_public_ip(w: &World, subnet_id: &str) -> bool {
    let out = ec2(w)
        .describe_subnets()
        .subnet_ids(subnet_id)
        .send()
        .await
        .unwrap();
    out.subnets()[0].map_public_ip_on_launch().unwrap_or(false)
}

async fn flow_logs(w: &World, vpc: &str) -> Vec<String> {
    let out = ec2(w)
        .describe_flow_logs()
        .filter(Filter::builder().name("resource-id").values(vpc).build())
        .send()
        .await
        .unwrap();
    out.flow_logs()
        .iter()
        .filter_map(|f| f.flow_log_id())
        .map(str::to_owned)
        .collect()
}

// ---------------------------------------------------------------------------------------
// ebs-snapshot-private
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn a_public_snapshot_is_made_private_and_rollback_makes_it_public_again() {
    let w = World::new("[gate]\nauto = [\"ebs-snapshot-private\"]").await;
    let snap = public_snapshot(&w).await;
    assert!(snapshot_public(&w, &snap).await);
    w.send(&event(
        "e-snap",
        "ebs-snapshot-public-restorable-check",
        "AWS::EC2::Snapshot",
        &snap,
    ))
    .await;
    w.worker(&[]);

    let r = one(&w.records(), "fixed", "ebs-snapshot-private");
    assert_fixed(&r, "auto", "ec2:ModifySnapshotAttribute");
    assert_eq!(r["operator_opt_in"], true, "{r:#}");
    assert_eq!(r["calls"][0]["params"]["operation_type"], "remove");
    assert_eq!(r["before"][0]["public"], true);
    assert_eq!(r["after"][0]["public"], false);
    assert!(!snapshot_public(&w, &snap).await);

    let rb = w.rollback(r["id"].as_str().unwrap());
    assert_eq!(rb["calls"][0]["params"]["operation_type"], "add");
    assert!(snapshot_public(&w, &snap).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_public_snapshot_waits_for_approval_without_the_operator_opt_in() {
    let w = World::new("").await;
    let snap = public_snapshot(&w).await;
    let p = w.plan(&event(
        "e-snap-plan",
        "ebs-snapshot-public-restorable-check",
        "AWS::EC2::Snapshot",
        &snap,
    ));
    assert_eq!(p["playbook"], "ebs-snapshot-private", "{p:#}");
    assert_eq!(p["decision"], "approval", "{p:#}");
    assert_eq!(p["steps"][0]["params"]["snapshot_id"], snap.as_str());
}

// ---------------------------------------------------------------------------------------
// ec2-imdsv2-required
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn imdsv2_is_required_and_rollback_restores_optional_tokens() {
    let w = World::new("[gate]\nauto = [\"ec2-imdsv2-required\"]").await;
    let id = instance(&w).await;
    assert_eq!(http_tokens(&w, &id).await, Some(HttpTokensState::Optional));
    w.send(&event(
        "e-imds",
        "ec2-imdsv2-check",
        "AWS::EC2::Instance",
        &id,
    ))
    .await;
    w.worker(&[]);

    let r = one(&w.records(), "fixed", "ec2-imdsv2-required");
    assert_fixed(&r, "auto", "ec2:ModifyInstanceMetadataOptions");
    assert_eq!(r["calls"][0]["params"]["http_tokens"], "required");
    assert_eq!(r["before"][0]["http_tokens"], "optional");
    assert_eq!(r["before"][0]["http_endpoint"], "enabled");
    assert_eq!(http_tokens(&w, &id).await, Some(HttpTokensState::Required));

    let rb = w.rollback(r["id"].as_str().unwrap());
    assert_eq!(rb["calls"][0]["params"]["http_tokens"], "optional");
    assert_eq!(http_tokens(&w, &id).await, Some(HttpTokensState::Optional));
}

// ---------------------------------------------------------------------------------------
// sg-close-default-group
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn the_default_group_is_closed_and_rollback_restores_its_rules() {
    let w = World::new("[gate]\nauto = [\"sg-close-default-group\"]").await;
    let sg = default_group(&w).await;
    ec2(&w)
        .authorize_security_group_ingress()
        .group_id(&sg)
        .ip_permissions(tcp(22, 22, "10.0.0.0/8"))
        .send()
        .await
        .unwrap();
    let before = rules(&w, &sg).await;
    assert_eq!(before.0, ["tcp 22-22 10.0.0.0/8"]);
    assert_eq!(before.1, ["-1 -1--1 0.0.0.0/0"]);
    w.send(&event(
        "e-default-sg",
        "vpc-default-security-group-closed",
        "AWS::EC2::SecurityGroup",
        &sg,
    ))
    .await;
    w.worker(&[]);

    let r = one(&w.records(), "fixed", "sg-close-default-group");
    assert_fixed(&r, "auto", "ec2:RevokeSecurityGroupIngress");
    assert_eq!(r["calls"][1]["action"], "ec2:RevokeSecurityGroupEgress");
    assert_eq!(rules(&w, &sg).await, (vec![], vec![]));

    let rb = w.rollback(r["id"].as_str().unwrap());
    assert_eq!(rb["calls"].as_array().unwrap().len(), 2, "{rb:#}");
    assert_eq!(rules(&w, &sg).await, before);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_group_that_is_not_a_default_group_is_refused() {
    let w = World::new("[gate]\nauto = [\"sg-close-default-group\"]").await;
    let sg = group_with(&w, "web", vec![tcp(443, 443, "0.0.0.0/0")]).await;
    w.send(&event(
        "e-not-default",
        "vpc-default-security-group-closed",
        "AWS::EC2::SecurityGroup",
        &sg,
    ))
    .await;
    w.worker(&[]);
    let r = one(&w.records(), "failed", "sg-close-default-group");
    assert!(
        r["error"].to_string().contains("not a VPC's default group"),
        "{r:#}"
    );
    assert!(r["calls"].as_array().unwrap().is_empty());
    assert_eq!(rules(&w, &sg).await.0, ["tcp 443-443 0.0.0.0/0"]);
}

// ---------------------------------------------------------------------------------------
// sg-revoke-unauthorized-open-ports
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn world_open_ports_outside_the_authorized_list_are_revoked_and_restored() {
    let w = World::new(
        "[gate]\nauto = [\"sg-revoke-unauthorized-open-ports\"]\n[parameters]\nauthorized_ports = [443, 8443]",
    )
    .await;
    let sg = group_with(
        &w,
        "app",
        vec![
            tcp(443, 443, "0.0.0.0/0"),
            tcp(8443, 8443, "0.0.0.0/0"),
            tcp(8000, 8100, "0.0.0.0/0"),
            tcp(5432, 5432, "10.0.0.0/8"),
        ],
    )
    .await;
    let before = rules(&w, &sg).await;
    w.send(&event(
        "e-authorized",
        "vpc-sg-open-only-to-authorized-ports",
        "AWS::EC2::SecurityGroup",
        &sg,
    ))
    .await;
    w.worker(&[]);

    let r = one(&w.records(), "fixed", "sg-revoke-unauthorized-open-ports");
    assert_fixed(&r, "auto", "ec2:RevokeSecurityGroupIngress");
    assert_eq!(r["steps"][0]["params"]["allowed_ports"], json!([443, 8443]));
    assert_eq!(
        r["calls"][0]["params"]["security_group_rule_ids"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "{r:#}"
    );
    assert_eq!(
        rules(&w, &sg).await.0,
        [
            "tcp 443-443 0.0.0.0/0",
            "tcp 5432-5432 10.0.0.0/8",
            "tcp 8443-8443 0.0.0.0/0"
        ]
    );

    w.rollback(r["id"].as_str().unwrap());
    assert_eq!(rules(&w, &sg).await, before);
}

#[tokio::test(flavor = "multi_thread")]
async fn authorized_ports_default_to_web_ports_and_admin_port_findings_go_elsewhere() {
    let w = World::new("").await;
    let sg = group_with(&w, "web", vec![tcp(443, 443, "0.0.0.0/0")]).await;
    let p = w.plan(&event(
        "e-ports-plan",
        "vpc-sg-open-only-to-authorized-ports",
        "AWS::EC2::SecurityGroup",
        &sg,
    ));
    assert_eq!(p["playbook"], "sg-revoke-unauthorized-open-ports", "{p:#}");
    assert_eq!(p["decision"], "approval");
    assert_eq!(p["steps"][0]["params"]["allowed_ports"], json!([80, 443]));
    let admin = w.plan(&event(
        "e-ssh-plan",
        "restricted-ssh",
        "AWS::EC2::SecurityGroup",
        &sg,
    ));
    assert_eq!(admin["playbook"], "sg-revoke-open-admin-ports", "{admin:#}");
}

// ---------------------------------------------------------------------------------------
// subnet-no-auto-public-ip
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn a_subnet_stops_assigning_public_ips_and_rollback_turns_it_back_on() {
    let w = World::new("[gate]\nauto = [\"subnet-no-auto-public-ip\"]").await;
    let (subnet, on) = default_subnet(&w).await;
    assert!(on, "moto's default subnets assign public IPs");
    w.send(&event(
        "e-subnet",
        "subnet-auto-assign-public-ip-disabled",
        "AWS::EC2::Subnet",
        &subnet,
    ))
    .await;
    w.worker(&[]);

    let r = one(&w.records(), "fixed", "subnet-no-auto-public-ip");
    assert_fixed(&r, "auto", "ec2:ModifySubnetAttribute");
    assert_eq!(r["calls"][0]["params"]["map_public_ip_on_launch"], false);
    assert!(!subnet_public_ip(&w, &subnet).await);

    w.rollback(r["id"].as_str().unwrap());
    assert!(subnet_public_ip(&w, &subnet).await);
}

// ---------------------------------------------------------------------------------------
// vpc-flow-logs
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn a_vpc_without_flow_logs_gets_one_automatically_and_rollback_deletes_it() {
    let w =
        World::new("[parameters]\nflow_logs_bucket_arn = \"arn:aws:s3:::acme-flow-logs\"").await;
    aws_sdk_s3::Client::new(&w.sdk)
        .create_bucket()
        .bucket("acme-flow-logs")
        .send()
        .await
        .unwrap();
    let vpc = default_vpc(&w).await;
    assert!(flow_logs(&w, &vpc).await.is_empty());
    w.send(&event(
        "e-flow",
        "vpc-flow-logs-enabled",
        "AWS::EC2::VPC",
        &vpc,
    ))
    .await;
    w.worker(&[]);

    let r = one(&w.records(), "fixed", "vpc-flow-logs");
    assert_fixed(&r, "auto", "ec2:CreateFlowLogs");
    assert_eq!(
        r["calls"][0]["params"]["log_destination"],
        "arn:aws:s3:::acme-flow-logs"
    );
    let created = r["calls"][0]["result"]["flow_log_ids"].clone();
    let now = flow_logs(&w, &vpc).await;
    assert_eq!(created, json!(now), "{r:#}");
    assert_eq!(now.len(), 1);

    let rb = w.rollback(r["id"].as_str().unwrap());
    assert_eq!(rb["calls"][0]["action"], "ec2:DeleteFlowLogs");
    assert_eq!(rb["calls"][0]["params"]["flow_log_ids"], created);
    assert!(flow_logs(&w, &vpc).await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn flow_logs_without_a_configured_bucket_fail_with_a_clear_error() {
    let w = World::new("").await;
    let vpc = default_vpc(&w).await;
    w.send(&event(
        "e-flow-nobucket",
        "vpc-flow-logs-enabled",
        "AWS::EC2::VPC",
        &vpc,
    ))
    .await;
    w.worker(&[]);
    let records = w.records();
    let r = records
        .iter()
        .find(|r| r["playbook"]["id"] == "vpc-flow-logs")
        .unwrap_or_else(|| panic!("{records:#?}"));
    assert_ne!(r["outcome"], "fixed", "{r:#}");
    assert!(
        r.to_string().contains("flow_logs_bucket_arn"),
        "the record names the missing parameter: {r:#}"
    );
    assert!(flow_logs(&w, &vpc).await.is_empty());
}

// ---------------------------------------------------------------------------------------
// ec2-forensic-snapshot
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn a_tor_client_instance_is_snapshotted_automatically_and_keeps_running() {
    let w = World::new("").await;
    let id = instance(&w).await;
    w.send(&guardduty_ec2(
        "e-tor",
        "UnauthorizedAccess:EC2/TorClient",
        &id,
        "ACTOR",
    ))
    .await;
    w.worker(&[]);

    let r = one(&w.records(), "fixed", "ec2-forensic-snapshot");
    assert_fixed(&r, "auto", "ec2:CreateSnapshot");
    let snapshots = ec2(&w)
        .describe_snapshots()
        .owner_ids("self")
        .filters(
            Filter::builder()
                .name("tag:redress:playbook")
                .values("ec2-forensic-snapshot")
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        snapshots.snapshots().len(),
        r["calls"].as_array().unwrap().len()
    );
    // The instance keeps its groups: nothing that runs changed.
    assert_eq!(r["steps"].as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn suspicious_findings_snapshot_while_compromise_findings_still_isolate() {
    let w = World::new("").await;
    let id = instance(&w).await;
    let p = w.plan(&guardduty_ec2(
        "e-phish",
        "Trojan:EC2/PhishingDomainRequest!DNS",
        &id,
        "ACTOR",
    ));
    assert_eq!(p["playbook"], "ec2-forensic-snapshot", "{p:#}");
    assert_eq!(p["decision"], "auto");
    let target = w.plan(&guardduty_ec2(
        "e-target",
        "UnauthorizedAccess:EC2/TorClient",
        &id,
        "TARGET",
    ));
    assert_eq!(target["decision"], "ignore", "{target:#}");
    assert!(target["playbook"].is_null());
    let mining = w.plan(&guardduty_ec2(
        "e-mining",
        "CryptoCurrency:EC2/BitcoinTool.B!DNS",
        &id,
        "ACTOR",
    ));
    assert_eq!(mining["playbook"], "ec2-isolate-instance", "{mining:#}");
}

// ---------------------------------------------------------------------------------------
// ebs-snapshot-block-public-access (moto lacks the API: plan, gate and parameters)
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn snapshot_block_public_access_is_planned_for_approval_with_block_all_sharing() {
    let w = World::new("").await;
    let p = w.plan(&event(
        "e-bpa",
        "ebs-snapshot-block-public-access",
        "AWS::EC2::SnapshotBlockPublicAccess",
        ACCOUNT,
    ));
    assert_eq!(p["playbook"], "ebs-snapshot-block-public-access", "{p:#}");
    assert_eq!(p["decision"], "approval");
    assert_eq!(
        p["steps"][0]["action"],
        "ec2.enable_snapshot_block_public_access"
    );
    assert_eq!(p["steps"][0]["params"]["state"], "block-all-sharing");

    let opted = World::new("[gate]\nauto = [\"ebs-snapshot-block-public-access\"]").await;
    let p = opted.plan(&event(
        "e-bpa-2",
        "ebs-snapshot-block-public-access",
        "AWS::EC2::SnapshotBlockPublicAccess",
        ACCOUNT,
    ));
    assert_eq!(p["decision"], "auto", "{p:#}");
}

// ---------------------------------------------------------------------------------------
// ec2.remove_image_public_permission (action level)
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn a_public_ami_is_made_private_and_revert_makes_it_public_again() {
    let w = World::new("").await;
    let id = instance(&w).await;
    let c = ec2(&w);
    let image = c
        .create_image()
        .instance_id(id)
        .name("acme-golden")
        .send()
        .await
        .unwrap()
        .image_id()
        .unwrap()
        .to_owned();
    c.modify_image_attribute()
        .image_id(&image)
        .launch_permission(
            LaunchPermissionModifications::builder()
                .add(
                    LaunchPermission::builder()
                        .group(PermissionGroup::All)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();

    let clients = Clients::new(&w.sdk, ACCOUNT, REGION, "aws");
    let cx = Ctx {
        aws: &clients,
        remediation_id: "rem-ami",
        playbook_id: "ami-test",
        event_id: "evt-ami",
        finding_time: Utc::now(),
        now: Utc::now(),
    };
    let action = implementation("ec2.remove_image_public_permission").unwrap();
    let mut p = Params::new();
    p.insert("image_id".into(), Value::Str(image.clone()));
    let before = action.capture(&cx, &p).await.unwrap();
    assert_eq!(before["public"], true, "{before:#}");
    assert!(!action.compliant(&p, &before, &cx));

    let dry = action.dry_run(&cx, &p, &before).await.unwrap();
    assert_eq!(dry[0].result["code"], "DryRunOperation", "{dry:?}");
    assert_eq!(action.capture(&cx, &p).await.unwrap(), before);

    let calls = action.apply(&cx, &p, &before).await.unwrap();
    assert_eq!(calls[0].action, "ec2:ModifyImageAttribute");
    let after = action.capture(&cx, &p).await.unwrap();
    assert!(action.compliant(&p, &after, &cx), "{after:#}");

    action.revert(&cx, &p, &before).await.unwrap();
    assert_eq!(action.capture(&cx, &p).await.unwrap(), before);

    let mut bad = Params::new();
    bad.insert("image_id".into(), Value::Str("ami-../../x".into()));
    assert!(action.capture(&cx, &bad).await.is_err());
}
