//! EC2 actions: EBS encryption by default, world-open ingress, forensic snapshots,
//! instance isolation, IMDSv2, default groups, public snapshots and AMIs, subnet public IPs,
//! VPC flow logs and snapshot block public access.
//!
//! EC2 has a `DryRun` flag: in dry-run these actions send the real requests with
//! `DryRun=true` and record EC2's `DryRunOperation` answer, which proves the permissions
//! without changing anything.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_ec2::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ec2::types::{
    AttributeBooleanValue, Filter, FlowLogsResourceType, HttpTokensState, ImageAttributeName,
    Instance, InstanceMetadataEndpointState, IpPermission, IpRange, Ipv6Range, LaunchPermission,
    LaunchPermissionModifications, LogDestinationType, OperationType, PermissionGroup,
    PrefixListId, ResourceType, SecurityGroup, SecurityGroupRule, SnapshotAttributeName,
    SnapshotBlockPublicAccessState, Tag, TagSpecification, TrafficType, UserIdGroupPair,
};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use redress_playbooks::actions::Params;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Action, ActionError, Call, Ctx, State, int_list_param, str_list_param, str_param};
use crate::aws::AwsError;

fn parse_state<T: for<'de> Deserialize<'de>>(state: &State, what: &str) -> Result<T, ActionError> {
    serde_json::from_value(state.clone()).map_err(|e| {
        ActionError::Precondition(format!("the captured state is not a {what} state: {e}"))
    })
}

fn to_state<T: Serialize>(value: &T) -> Result<State, ActionError> {
    serde_json::to_value(value)
        .map_err(|e| ActionError::Precondition(format!("cannot record the captured state: {e}")))
}

/// The result of a request sent with `DryRun=true`: EC2 answers a would-have-succeeded call
/// with the error `DryRunOperation`, which is recorded; any other error is the dry run's
/// finding (e.g. `UnauthorizedOperation`) and is returned.
fn dry_run_result<T, E>(
    operation: &'static str,
    answer: Result<T, SdkError<E, HttpResponse>>,
) -> Result<serde_json::Value, ActionError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match answer {
        Ok(_) => Ok(json!({
            "code": null,
            "warning": "the request succeeded: DryRun was not honoured and the change was made",
        })),
        Err(e) => {
            let err = AwsError::from_sdk(operation, e);
            if err.is_dry_run_success() {
                Ok(json!({ "code": "DryRunOperation", "message": err.message }))
            } else {
                Err(err.into())
            }
        }
    }
}

fn filter(name: &str, value: &str) -> Filter {
    Filter::builder().name(name).values(value).build()
}

/// The instance, by id (DescribeInstances).
async fn describe_instance(cx: &Ctx<'_>, instance_id: &str) -> Result<Instance, ActionError> {
    let out = cx
        .aws
        .ec2
        .describe_instances()
        .instance_ids(instance_id)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("ec2:DescribeInstances", e))?;
    out.reservations()
        .iter()
        .flat_map(|r| r.instances())
        .find(|i| i.instance_id() == Some(instance_id))
        .cloned()
        .ok_or_else(|| ActionError::Precondition(format!("instance {instance_id} was not found")))
}

// ---------------------------------------------------------------------------------------
// ec2.enable_ebs_encryption_by_default
// ---------------------------------------------------------------------------------------

/// `ec2.enable_ebs_encryption_by_default`: the account-and-region setting.
pub struct EnableEbsEncryptionByDefault;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EbsDefaultState {
    pub region: String,
    pub ebs_encryption_by_default: bool,
}

impl EnableEbsEncryptionByDefault {
    fn plan(before: &State) -> Result<Vec<Call>, ActionError> {
        let state: EbsDefaultState = parse_state(before, "EBS encryption by default")?;
        if state.ebs_encryption_by_default {
            return Ok(vec![]);
        }
        Ok(vec![Call::new(
            "ec2:EnableEbsEncryptionByDefault",
            json!({}),
        )])
    }
}

#[async_trait]
impl Action for EnableEbsEncryptionByDefault {
    fn id(&self) -> &'static str {
        "ec2.enable_ebs_encryption_by_default"
    }

    async fn capture(&self, cx: &Ctx<'_>, _params: &Params) -> Result<State, ActionError> {
        let out = cx
            .aws
            .ec2
            .get_ebs_encryption_by_default()
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("ec2:GetEbsEncryptionByDefault", e))?;
        to_state(&EbsDefaultState {
            region: cx.aws.region.clone(),
            ebs_encryption_by_default: out.ebs_encryption_by_default().unwrap_or(false),
        })
    }

    fn compliant(&self, _params: &Params, state: &State, _cx: &Ctx<'_>) -> bool {
        parse_state::<EbsDefaultState>(state, "EBS encryption by default")
            .is_ok_and(|s| s.ebs_encryption_by_default)
    }

    fn planned_calls(&self, _params: &Params, before: &State, _cx: &Ctx<'_>) -> Vec<Call> {
        Self::plan(before).unwrap_or_default()
    }

    async fn dry_run(
        &self,
        cx: &Ctx<'_>,
        _params: &Params,
        before: &State,
    ) -> Result<Vec<Call>, ActionError> {
        let mut calls = Self::plan(before)?;
        for call in &mut calls {
            let answer = cx
                .aws
                .ec2
                .enable_ebs_encryption_by_default()
                .dry_run(true)
                .send()
                .await;
            call.result = dry_run_result("ec2:EnableEbsEncryptionByDefault", answer)?;
        }
        Ok(calls)
    }

    async fn apply(
        &self,
        cx: &Ctx<'_>,
        _params: &Params,
        before: &State,
    ) -> Result<Vec<Call>, ActionError> {
        let mut calls = Self::plan(before)?;
        for call in &mut calls {
            let out = cx
                .aws
                .ec2
                .enable_ebs_encryption_by_default()
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("ec2:EnableEbsEncryptionByDefault", e))?;
            call.result = json!({ "ebs_encryption_by_default": out.ebs_encryption_by_default() });
        }
        Ok(calls)
    }

    /// Turns the setting off again only when it was off before.
    async fn revert(
        &self,
        cx: &Ctx<'_>,
        _params: &Params,
        before: &State,
    ) -> Result<Vec<Call>, ActionError> {
        let state: EbsDefaultState = parse_state(before, "EBS encryption by default")?;
        if state.ebs_encryption_by_default {
            return Ok(vec![]);
        }
        let out = cx
            .aws
            .ec2
            .disable_ebs_encryption_by_default()
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("ec2:DisableEbsEncryptionByDefault", e))?;
        Ok(vec![
            Call::new("ec2:DisableEbsEncryptionByDefault", json!({})).with_result(
                json!({ "ebs_encryption_by_default": out.ebs_encryption_by_default() }),
            ),
        ])
    }
}

// ---------------------------------------------------------------------------------------
// ec2.revoke_open_ingress
// ---------------------------------------------------------------------------------------

/// `ec2.revoke_open_ingress`: revokes the ingress rules of one security group that open a
/// listed port to a listed source, by rule id; every other rule stays.
///
/// A rule is offending when its source is one of `cidrs` (exact CIDR text) and it is an
/// all-traffic rule (`-1`), an SCTP rule (EC2 opens every SCTP port whatever the range), or
/// a TCP/UDP rule whose port range covers one of `ports`. ICMP has types, not ports, and
/// protocols without ports (ESP, GRE, …) are not port exposure: they are kept. Rules whose
/// source is a prefix list or another group are never offending.
pub struct RevokeOpenIngress;

/// One ingress rule as DescribeSecurityGroupRules returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SgRule {
    pub rule_id: Option<String>,
    /// `tcp`, `udp`, `icmp`, `-1` (all traffic) or a protocol number.
    pub protocol: String,
    pub from_port: Option<i32>,
    pub to_port: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cidr_ipv4: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cidr_ipv6: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix_list_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referenced_group_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl SgRule {
    fn from_sdk(r: &SecurityGroupRule) -> Self {
        SgRule {
            rule_id: r.security_group_rule_id().map(str::to_owned),
            protocol: r.ip_protocol().unwrap_or("-1").to_owned(),
            from_port: r.from_port(),
            to_port: r.to_port(),
            cidr_ipv4: r.cidr_ipv4().map(str::to_owned),
            cidr_ipv6: r.cidr_ipv6().map(str::to_owned),
            prefix_list_id: r.prefix_list_id().map(str::to_owned),
            referenced_group_id: r
                .referenced_group_info()
                .and_then(|g| g.group_id())
                .map(str::to_owned),
            description: r.description().map(str::to_owned),
        }
    }

    fn source(&self) -> Option<&str> {
        self.cidr_ipv4.as_deref().or(self.cidr_ipv6.as_deref())
    }

    /// Whether this rule opens one of `ports` to one of `cidrs`.
    fn opens(&self, ports: &[i64], cidrs: &[String]) -> bool {
        if self.prefix_list_id.is_some() || self.referenced_group_id.is_some() {
            return false;
        }
        let Some(source) = self.source() else {
            return false;
        };
        if !cidrs.iter().any(|c| c == source) {
            return false;
        }
        match self.protocol.to_ascii_lowercase().as_str() {
            "-1" | "all" | "sctp" | "132" => true,
            "tcp" | "udp" | "6" | "17" => match (self.from_port, self.to_port) {
                (Some(from), Some(to)) => ports
                    .iter()
                    .any(|p| i64::from(from) <= *p && *p <= i64::from(to)),
                _ => false,
            },
            _ => false,
        }
    }

    /// The rule without its id: what re-creating it restores.
    fn shape(&self) -> SgRule {
        SgRule {
            rule_id: None,
            ..self.clone()
        }
    }

    /// The request that re-creates this rule (from a CIDR, a prefix list or a group).
    fn to_permission(&self) -> IpPermission {
        let mut p = IpPermission::builder().ip_protocol(&self.protocol);
        if self.protocol != "-1" {
            p = p.set_from_port(self.from_port).set_to_port(self.to_port);
        }
        if let Some(cidr) = &self.cidr_ipv4 {
            p = p.ip_ranges(
                IpRange::builder()
                    .cidr_ip(cidr)
                    .set_description(self.description.clone())
                    .build(),
            );
        }
        if let Some(cidr) = &self.cidr_ipv6 {
            p = p.ipv6_ranges(
                Ipv6Range::builder()
                    .cidr_ipv6(cidr)
                    .set_description(self.description.clone())
                    .build(),
            );
        }
        if let Some(id) = &self.prefix_list_id {
            p = p.prefix_list_ids(
                PrefixListId::builder()
                    .prefix_list_id(id)
                    .set_description(self.description.clone())
                    .build(),
            );
        }
        if let Some(id) = &self.referenced_group_id {
            p = p.user_id_group_pairs(
                UserIdGroupPair::builder()
                    .group_id(id)
                    .set_description(self.description.clone())
                    .build(),
            );
        }
        p.build()
    }
}

/// The captured state: every ingress rule of the group, and those the step revokes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IngressState {
    pub group_id: String,
    pub group_name: Option<String>,
    pub vpc_id: Option<String>,
    pub ingress: Vec<SgRule>,
    pub offending: Vec<SgRule>,
}

fn offending_rules(params: &Params, ingress: &[SgRule]) -> Result<Vec<SgRule>, ActionError> {
    let ports = int_list_param(params, "ports")?;
    let cidrs = str_list_param(params, "cidrs")?;
    Ok(ingress
        .iter()
        .filter(|r| r.opens(ports, cidrs))
        .cloned()
        .collect())
}

/// Every ingress rule of a group (DescribeSecurityGroupRules, all pages).
async fn ingress_rules(cx: &Ctx<'_>, group_id: &str) -> Result<Vec<SgRule>, ActionError> {
    Ok(group_rules(cx, group_id).await?.0)
}

/// Every rule of a group, `(ingress, egress)` (DescribeSecurityGroupRules, all pages).
async fn group_rules(
    cx: &Ctx<'_>,
    group_id: &str,
) -> Result<(Vec<SgRule>, Vec<SgRule>), ActionError> {
    let mut ingress = Vec::new();
    let mut egress = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = cx
            .aws
            .ec2
            .describe_security_group_rules()
            .filters(filter("group-id", group_id))
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("ec2:DescribeSecurityGroupRules", e))?;
        for r in out.security_group_rules() {
            if r.group_id().is_some_and(|g| g != group_id) {
                continue;
            }
            if r.is_egress() == Some(true) {
                egress.push(SgRule::from_sdk(r));
            } else {
                ingress.push(SgRule::from_sdk(r));
            }
        }
        match out.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_owned()),
            _ => break,
        }
    }
    Ok((ingress, egress))
}

/// The group, by id (DescribeSecurityGroups): a group that does not exist is an error, not
/// a group without rules.
async fn describe_group(cx: &Ctx<'_>, group_id: &str) -> Result<SecurityGroup, ActionError> {
    let groups = cx
        .aws
        .ec2
        .describe_security_groups()
        .group_ids(group_id)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("ec2:DescribeSecurityGroups", e))?;
    groups
        .security_groups()
        .iter()
        .find(|g| g.group_id() == Some(group_id))
        .cloned()
        .ok_or_else(|| {
            ActionError::Precondition(format!("security group {group_id} was not found"))
        })
}

/// Revokes `state.offending` by rule id (or tries it with `DryRun`); the call made.
async fn ingress_revoke(
    cx: &Ctx<'_>,
    state: &IngressState,
    dry_run: bool,
) -> Result<Vec<Call>, ActionError> {
    let Some(call) = RevokeOpenIngress::revoke_call(state)? else {
        return Ok(vec![]);
    };
    let answer = cx
        .aws
        .ec2
        .revoke_security_group_ingress()
        .group_id(&state.group_id)
        .set_security_group_rule_ids(Some(RevokeOpenIngress::rule_ids(&state.offending)?))
        .dry_run(dry_run)
        .send()
        .await;
    if dry_run {
        let result = dry_run_result("ec2:RevokeSecurityGroupIngress", answer)?;
        return Ok(vec![call.with_result(result)]);
    }
    let out = answer.map_err(|e| AwsError::from_sdk("ec2:RevokeSecurityGroupIngress", e))?;
    let revoked: Vec<&str> = out
        .revoked_security_group_rules()
        .iter()
        .filter_map(|r| r.security_group_rule_id())
        .collect();
    let unknown = out.unknown_ip_permissions().len();
    Ok(vec![call.with_result(json!({
        "return": out.r#return(),
        "revoked_security_group_rule_ids": revoked,
        "unknown_ip_permissions": unknown,
    }))])
}

/// Re-creates the revoked rules (protocol, ports, source, description) from the
/// before-state, one AuthorizeSecurityGroupIngress per rule so each call records the rule
/// id it created. Rules that are already back are skipped, so a revert that was
/// interrupted can be run again.
async fn ingress_restore(cx: &Ctx<'_>, state: &IngressState) -> Result<Vec<Call>, ActionError> {
    if state.offending.is_empty() {
        return Ok(vec![]);
    }
    let now: Vec<SgRule> = ingress_rules(cx, &state.group_id)
        .await?
        .iter()
        .map(SgRule::shape)
        .collect();
    let mut calls = Vec::new();
    for rule in &state.offending {
        let shape = rule.shape();
        if now.contains(&shape) {
            continue;
        }
        let out = cx
            .aws
            .ec2
            .authorize_security_group_ingress()
            .group_id(&state.group_id)
            .ip_permissions(rule.to_permission())
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("ec2:AuthorizeSecurityGroupIngress", e))?;
        let created: Vec<&str> = out
            .security_group_rules()
            .iter()
            .filter_map(|r| r.security_group_rule_id())
            .collect();
        calls.push(
            Call::new(
                "ec2:AuthorizeSecurityGroupIngress",
                json!({ "group_id": state.group_id, "rule": shape, "restores": rule.rule_id }),
            )
            .with_result(json!({ "security_group_rule_ids": created })),
        );
    }
    Ok(calls)
}

impl RevokeOpenIngress {
    fn revoke_call(state: &IngressState) -> Result<Option<Call>, ActionError> {
        if state.offending.is_empty() {
            return Ok(None);
        }
        let ids = Self::rule_ids(&state.offending)?;
        Ok(Some(Call::new(
            "ec2:RevokeSecurityGroupIngress",
            json!({ "group_id": state.group_id, "security_group_rule_ids": ids }),
        )))
    }

    fn rule_ids(rules: &[SgRule]) -> Result<Vec<String>, ActionError> {
        rules
            .iter()
            .map(|r| {
                r.rule_id.clone().ok_or_else(|| {
                    ActionError::Precondition(format!(
                        "an ingress rule to revoke has no rule id: {}",
                        serde_json::to_string(r).unwrap_or_default()
                    ))
                })
            })
            .collect()
    }

    /// The before-state with `offending` recomputed for these parameters.
    fn state(params: &Params, before: &State) -> Result<IngressState, ActionError> {
        let mut state: IngressState = parse_state(before, "security group ingress")?;
        state.offending = offending_rules(params, &state.ingress)?;
        Ok(state)
    }
}

#[async_trait]
impl Action for RevokeOpenIngress {
    fn id(&self) -> &'static str {
        "ec2.revoke_open_ingress"
    }

    async fn capture(&self, cx: &Ctx<'_>, params: &Params) -> Result<State, ActionError> {
        let group_id = str_param(params, "group_id")?;
        let group = describe_group(cx, group_id).await?;
        let ingress = ingress_rules(cx, group_id).await?;
        let offending = offending_rules(params, &ingress)?;
        to_state(&IngressState {
            group_id: group_id.to_owned(),
            group_name: group.group_name().map(str::to_owned),
            vpc_id: group.vpc_id().map(str::to_owned),
            ingress,
            offending,
        })
    }

    fn compliant(&self, params: &Params, state: &State, _cx: &Ctx<'_>) -> bool {
        Self::state(params, state).is_ok_and(|s| s.offending.is_empty())
    }

    fn planned_calls(&self, params: &Params, before: &State, _cx: &Ctx<'_>) -> Vec<Call> {
        Self::state(params, before)
            .and_then(|s| Self::revoke_call(&s))
            .ok()
            .flatten()
            .into_iter()
            .collect()
    }

    async fn dry_run(
        &self,
        cx: &Ctx<'_>,
        params: &Params,
        before: &State,
    ) -> Result<Vec<Call>, ActionError> {
        ingress_revoke(cx, &Self::state(params, before)?, true).await
    }

    async fn apply(
        &self,
        cx: &Ctx<'_>,
        params: &Params,
        before: &State,
    ) -> Result<Vec<Call>, ActionError> {
        ingress_revoke(cx, &Self::state(params, before)?, false).await
    }

    /// Re-creates the revoked rules from the before-state (see [`ingress_restore`]).
    async fn revert(
        &self,
        cx: &Ctx<'_>,
        params: &Params,
        before: &State,
    ) -> Result<Vec<Call>, ActionError> {
        ingress_restore(cx, &Self::state(params, before)?).await
    }
}

// ---------------------------------------------------------------------------------------
// ec2.snapshot_instance_volumes
// ---------------------------------------------------------------------------------------

/// `ec2.snapshot_instance_volumes`: one tagged snapshot per EBS volume of the instance.
///
/// Snapshots made by this remediation are found by their `redress:remediation` tag, so a
/// redelivered message does not snapshot twice.
pub struct SnapshotInstanceVolumes;

const TAG_REMEDIATION: &str = "redress:remediation";
const TAG_PLAYBOOK: &str = "redress:playbook";
const TAG_EVENT: &str = "redress:event";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VolumeInfo {
    pub volume_id: String,
    pub device_name: Option<String>,
    pub size_gib: Option<i32>,
    pub encrypted: Option<bool>,
    pub state: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotInfo {
    pub snapshot_id: Option<String>,
    pub volume_id: Option<String>,
    pub state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// The captured state: the instance's EBS volumes and the snapshots this remediation made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotState {
    pub instance_id: String,
    pub volumes: Vec<VolumeInfo>,
    pub snapshots: Vec<SnapshotInfo>,
}

impl SnapshotState {
    /// Volumes without a snapshot by this remediation (a failed snapshot does not count).
    fn lacking(&self) -> Vec<&VolumeInfo> {
        self.volumes
            .iter()
            .filter(|v| {
                !self.snapshots.iter().any(|s| {
                    s.volume_id.as_deref() == Some(v.volume_id.as_str())
                        && s.state.as_deref() != Some("error")
                })
            })
            .collect()
    }
}

impl SnapshotInstanceVolumes {
    fn description(cx: &Ctx<'_>, volume: &str, instance: &str) -> String {
        format!(
            "redress forensic snapshot of {volume} of {instance} ({})",
            cx.playbook_id
        )
    }

    fn tags(cx: &Ctx<'_>) -> serde_json::Value {
        json!({
            TAG_REMEDIATION: cx.remediation_id,
            TAG_PLAYBOOK: cx.playbook_id,
            TAG_EVENT: cx.event_id,
        })
    }

    fn tag_spec(cx: &Ctx<'_>) -> TagSpecification {
        let tag = |k: &str, v: &str| Tag::builder().key(k).value(v).build();
        TagSpecification::builder()
            .resource_type(ResourceType::Snapshot)
            .tags(tag(TAG_REMEDIATION, cx.remediation_id))
            .tags(tag(TAG_PLAYBOOK, cx.playbook_id))
            .tags(tag(TAG_EVENT, cx.event_id))
            .build()
    }

    /// `(volume id, description, call)` for every volume that needs a snapshot.
    fn plan(cx: &Ctx<'_>, before: &State) -> Result<Vec<(String, String, Call)>, ActionError> {
        let state: SnapshotState = parse_state(before, "instance snapshots")?;
        Ok(state
            .lacking()
            .into_iter()
            .map(|v| {
                let description = Self::description(cx, &v.volume_id, &state.instance_id);
                let call = Call::new(
                    "ec2:CreateSnapshot",
                    json!({
                        "volume_id": v.volume_id,
                        "description": description,
                        "tags": Self::tags(cx),
                    }),
                );
                (v.volume_id.clone(), description, call)
            })
            .collect())
    }
}

#[async_trait]
impl Action for SnapshotInstanceVolumes {
    fn id(&self) -> &'static str {
        "ec2.snapshot_instance_volumes"
    }

    async fn capture(&self, cx: &Ctx<'_>, params: &Params) -> Result<State, ActionError> {
        let instance_id = str_param(params, "instance_id")?;
        let instance = describe_instance(cx, instance_id).await?;
        let mut volumes: Vec<VolumeInfo> = instance
            .block_device_mappings()
            .iter()
            .filter_map(|m| {
                let volume_id = m.ebs()?.volume_id()?;
                Some(VolumeInfo {
                    volume_id: volume_id.to_owned(),
                    device_name: m.device_name().map(str::to_owned),
                    size_gib: None,
                    encrypted: None,
                    state: None,
                })
            })
            .collect();
        if !volumes.is_empty() {
            let out = cx
                .aws
                .ec2
                .describe_volumes()
                .set_volume_ids(Some(volumes.iter().map(|v| v.volume_id.clone()).collect()))
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("ec2:DescribeVolumes", e))?;
            for v in &mut volumes {
                if let Some(d) = out
                    .volumes()
                    .iter()
                    .find(|d| d.volume_id() == Some(v.volume_id.as_str()))
                {
                    v.size_gib = d.size();
                    v.encrypted = d.encrypted();
                    v.state = d.state().map(|s| s.as_str().to_owned());
                }
            }
        }
        let mut snapshots = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let out = cx
                .aws
                .ec2
                .describe_snapshots()
                .owner_ids("self")
                .filters(filter(&format!("tag:{TAG_REMEDIATION}"), cx.remediation_id))
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("ec2:DescribeSnapshots", e))?;
            snapshots.extend(out.snapshots().iter().map(|s| SnapshotInfo {
                snapshot_id: s.snapshot_id().map(str::to_owned),
                volume_id: s.volume_id().map(str::to_owned),
                state: s.state().map(|st| st.as_str().to_owned()),
                description: s.description().map(str::to_owned),
            }));
            match out.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_owned()),
                _ => break,
            }
        }
        snapshots
            .sort_by(|a, b| (&a.volume_id, &a.snapshot_id).cmp(&(&b.volume_id, &b.snapshot_id)));
        to_state(&SnapshotState {
            instance_id: instance_id.to_owned(),
            volumes,
            snapshots,
        })
    }

    fn compliant(&self, _params: &Params, state: &State, _cx: &Ctx<'_>) -> bool {
        parse_state::<SnapshotState>(state, "instance snapshots")
            .is_ok_and(|s| s.lacking().is_empty())
    }

    fn planned_calls(&self, _params: &Params, before: &State, cx: &Ctx<'_>) -> Vec<Call> {
        Self::plan(cx, before)
            .map(|p| p.into_iter().map(|(_, _, call)| call).collect())
            .unwrap_or_default()
    }

    async fn dry_run(
        &self,
        cx: &Ctx<'_>,
        _params: &Params,
        before: &State,
    ) -> Result<Vec<Call>, ActionError> {
        let mut calls = Vec::new();
        for (volume_id, description, call) in Self::plan(cx, before)? {
            let answer = cx
                .aws
                .ec2
                .create_snapshot()
                .volume_id(&volume_id)
                .description(description)
                .tag_specifications(Self::tag_spec(cx))
                .dry_run(true)
                .send()
                .await;
            calls.push(call.with_result(dry_run_result("ec2:CreateSnapshot", answer)?));
        }
        Ok(calls)
    }

    async fn apply(
        &self,
        cx: &Ctx<'_>,
        _params: &Params,
        before: &State,
    ) -> Result<Vec<Call>, ActionError> {
        let mut calls = Vec::new();
        for (volume_id, description, call) in Self::plan(cx, before)? {
            let out = cx
                .aws
                .ec2
                .create_snapshot()
                .volume_id(&volume_id)
                .description(description)
                .tag_specifications(Self::tag_spec(cx))
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("ec2:CreateSnapshot", e))?;
            calls.push(call.with_result(json!({
                "snapshot_id": out.snapshot_id(),
                "state": out.state().map(|s| s.as_str()),
            })));
        }
        Ok(calls)
    }

    /// Makes no call: the snapshots are evidence and are kept. Taking them changed nothing
    /// that runs, so there is nothing to restore; delete them by hand once the
    /// investigation no longer needs them (they carry the `redress:remediation` tag).
    async fn revert(
        &self,
        _cx: &Ctx<'_>,
        _params: &Params,
        _before: &State,
    ) -> Result<Vec<Call>, ActionError> {
        Ok(vec![])
    }
}

// ---------------------------------------------------------------------------------------
// ec2.isolate_instance
// ---------------------------------------------------------------------------------------

/// `ec2.isolate_instance`: swaps the instance's security groups for one rule-less
/// quarantine group in its VPC (found by name, or created and tagged
/// `redress:quarantine=true`). Revert puts the captured groups back; the quarantine group
/// is left in place for reuse.
///
/// The instance's groups are read from the instance, not its network interface (moto's
/// interface keeps listing the old groups after a swap). Instances with more than one
/// network interface are refused: EC2 cannot swap their groups with one
/// ModifyInstanceAttribute.
pub struct IsolateInstance;

const QUARANTINE_DESCRIPTION: &str = "redress quarantine: no traffic in or out";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupRef {
    pub group_id: String,
    pub group_name: Option<String>,
}

/// One permission (rule set) of a security group, as DescribeSecurityGroups returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Permission {
    pub protocol: String,
    pub from_port: Option<i32>,
    pub to_port: Option<i32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cidrs_ipv4: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cidrs_ipv6: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prefix_list_ids: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub group_ids: Vec<String>,
}

impl Permission {
    fn from_sdk(p: &IpPermission) -> Self {
        Permission {
            protocol: p.ip_protocol().unwrap_or("-1").to_owned(),
            from_port: p.from_port(),
            to_port: p.to_port(),
            cidrs_ipv4: p
                .ip_ranges()
                .iter()
                .filter_map(|r| r.cidr_ip())
                .map(str::to_owned)
                .collect(),
            cidrs_ipv6: p
                .ipv6_ranges()
                .iter()
                .filter_map(|r| r.cidr_ipv6())
                .map(str::to_owned)
                .collect(),
            prefix_list_ids: p
                .prefix_list_ids()
                .iter()
                .filter_map(|r| r.prefix_list_id())
                .map(str::to_owned)
                .collect(),
            group_ids: p
                .user_id_group_pairs()
                .iter()
                .filter_map(|r| r.group_id())
                .map(str::to_owned)
                .collect(),
        }
    }

    /// The request that revokes this permission.
    fn to_sdk(&self) -> IpPermission {
        let mut p = IpPermission::builder().ip_protocol(&self.protocol);
        if self.protocol != "-1" {
            p = p.set_from_port(self.from_port).set_to_port(self.to_port);
        }
        for c in &self.cidrs_ipv4 {
            p = p.ip_ranges(IpRange::builder().cidr_ip(c).build());
        }
        for c in &self.cidrs_ipv6 {
            p = p.ipv6_ranges(Ipv6Range::builder().cidr_ipv6(c).build());
        }
        for id in &self.prefix_list_ids {
            p = p.prefix_list_ids(PrefixListId::builder().prefix_list_id(id).build());
        }
        for id in &self.group_ids {
            p = p.user_id_group_pairs(UserIdGroupPair::builder().group_id(id).build());
        }
        p.build()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuarantineGroup {
    pub group_id: String,
    pub group_name: String,
    pub ingress: Vec<Permission>,
    pub egress: Vec<Permission>,
}

impl QuarantineGroup {
    fn from_sdk(g: &SecurityGroup, name: &str) -> Option<Self> {
        Some(QuarantineGroup {
            group_id: g.group_id()?.to_owned(),
            group_name: g.group_name().unwrap_or(name).to_owned(),
            ingress: g
                .ip_permissions()
                .iter()
                .map(Permission::from_sdk)
                .collect(),
            egress: g
                .ip_permissions_egress()
                .iter()
                .map(Permission::from_sdk)
                .collect(),
        })
    }

    fn is_closed(&self) -> bool {
        self.ingress.is_empty() && self.egress.is_empty()
    }
}

/// The captured state: the instance's groups and the quarantine group, `null` when there
/// is none in the instance's VPC yet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IsolationState {
    pub instance_id: String,
    pub vpc_id: String,
    pub security_groups: Vec<GroupRef>,
    pub network_interfaces: usize,
    pub quarantine_group: Option<QuarantineGroup>,
}

impl IsolationState {
    fn group_ids(&self) -> Vec<String> {
        self.security_groups
            .iter()
            .map(|g| g.group_id.clone())
            .collect()
    }

    fn isolated(&self) -> bool {
        self.quarantine_group
            .as_ref()
            .is_some_and(|q| q.is_closed() && self.group_ids() == [q.group_id.as_str()])
    }

    fn check_single_interface(&self) -> Result<(), ActionError> {
        if self.network_interfaces > 1 {
            return Err(ActionError::Precondition(format!(
                "instance {} has {} network interfaces; isolate_instance swaps the groups of single-interface instances only",
                self.instance_id, self.network_interfaces
            )));
        }
        Ok(())
    }
}

/// The quarantine group named `name` in `vpc_id`, if any (DescribeSecurityGroups).
async fn find_group(
    cx: &Ctx<'_>,
    vpc_id: &str,
    name: &str,
) -> Result<Option<QuarantineGroup>, ActionError> {
    let out = cx
        .aws
        .ec2
        .describe_security_groups()
        .filters(filter("vpc-id", vpc_id))
        .filters(filter("group-name", name))
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("ec2:DescribeSecurityGroups", e))?;
    Ok(out
        .security_groups()
        .iter()
        .filter(|g| g.group_name() == Some(name))
        .find_map(|g| QuarantineGroup::from_sdk(g, name)))
}

/// The group by id, retried briefly: a group just created may not be visible yet.
async fn group_by_id(
    cx: &Ctx<'_>,
    group_id: &str,
    name: &str,
) -> Result<QuarantineGroup, ActionError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let answer = cx
            .aws
            .ec2
            .describe_security_groups()
            .group_ids(group_id)
            .send()
            .await;
        match answer {
            Ok(out) => {
                if let Some(g) = out
                    .security_groups()
                    .iter()
                    .find(|g| g.group_id() == Some(group_id))
                    .and_then(|g| QuarantineGroup::from_sdk(g, name))
                {
                    return Ok(g);
                }
                if attempt >= 5 {
                    return Err(ActionError::Precondition(format!(
                        "security group {group_id} was created but is not visible"
                    )));
                }
            }
            Err(e) => {
                let err = AwsError::from_sdk("ec2:DescribeSecurityGroups", e);
                if !err.is_not_found() || attempt >= 5 {
                    return Err(err.into());
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(500 * attempt)).await;
    }
}

impl IsolateInstance {
    fn name(params: &Params) -> Result<&str, ActionError> {
        str_param(params, "quarantine_group_name")
    }

    fn create_call(state: &IsolationState, name: &str) -> Call {
        Call::new(
            "ec2:CreateSecurityGroup",
            json!({
                "group_name": name,
                "description": QUARANTINE_DESCRIPTION,
                "vpc_id": state.vpc_id,
                "tags": { "redress:quarantine": "true" },
            }),
        )
    }

    fn revoke_call(action: &str, group_id: Option<&str>, perms: &[Permission]) -> Call {
        Call::new(
            action,
            json!({ "group_id": group_id, "ip_permissions": perms }),
        )
    }

    fn modify_call(instance_id: &str, groups: &[String]) -> Call {
        Call::new(
            "ec2:ModifyInstanceAttribute",
            json!({ "instance_id": instance_id, "groups": groups }),
        )
    }

    /// What apply does from `before`. For a group still to be created, its id is `null`
    /// and its rules are EC2's default for a new group (allow all egress).
    fn plan(params: &Params, before: &State) -> Result<Vec<Call>, ActionError> {
        let state: IsolationState = parse_state(before, "instance isolation")?;
        if state.isolated() {
            return Ok(vec![]);
        }
        let name = Self::name(params)?;
        let mut calls = Vec::new();
        let (group_id, ingress, egress) = match &state.quarantine_group {
            Some(q) => (
                Some(q.group_id.clone()),
                q.ingress.clone(),
                q.egress.clone(),
            ),
            None => {
                calls.push(Self::create_call(&state, name));
                let allow_all = Permission {
                    protocol: "-1".to_owned(),
                    from_port: None,
                    to_port: None,
                    cidrs_ipv4: vec!["0.0.0.0/0".to_owned()],
                    cidrs_ipv6: vec![],
                    prefix_list_ids: vec![],
                    group_ids: vec![],
                };
                (None, vec![], vec![allow_all])
            }
        };
        if !egress.is_empty() {
            calls.push(Self::revoke_call(
                "ec2:RevokeSecurityGroupEgress",
                group_id.as_deref(),
                &egress,
            ));
        }
        if !ingress.is_empty() {
            calls.push(Self::revoke_call(
                "ec2:RevokeSecurityGroupIngress",
                group_id.as_deref(),
                &ingress,
            ));
        }
        match group_id {
            Some(id) if state.group_ids() == [id.clone()] => {}
            Some(id) => calls.push(Self::modify_call(&state.instance_id, &[id])),
            // The id of the group created above, not known before it is.
            None => calls.push(Call::new(
                "ec2:ModifyInstanceAttribute",
                json!({ "instance_id": state.instance_id, "groups": [null] }),
            )),
        }
        Ok(calls)
    }

    fn create_request(
        cx: &Ctx<'_>,
        state: &IsolationState,
        name: &str,
    ) -> aws_sdk_ec2::operation::create_security_group::builders::CreateSecurityGroupFluentBuilder
    {
        cx.aws
            .ec2
            .create_security_group()
            .group_name(name)
            .description(QUARANTINE_DESCRIPTION)
            .vpc_id(&state.vpc_id)
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
    }

    /// Creates the quarantine group; its id.
    async fn create_group(
        cx: &Ctx<'_>,
        state: &IsolationState,
        name: &str,
    ) -> Result<String, AwsError> {
        let out = Self::create_request(cx, state, name)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("ec2:CreateSecurityGroup", e))?;
        out.group_id().map(str::to_owned).ok_or_else(|| {
            AwsError::new(
                "ec2:CreateSecurityGroup",
                crate::aws::ErrorClass::Service,
                None,
                None,
                "CreateSecurityGroup answered without a group id".to_owned(),
            )
        })
    }

    async fn revoke(
        cx: &Ctx<'_>,
        egress: bool,
        group_id: &str,
        perms: &[Permission],
        dry_run: bool,
    ) -> Result<serde_json::Value, ActionError> {
        let perms: Vec<IpPermission> = perms.iter().map(Permission::to_sdk).collect();
        if egress {
            let answer = cx
                .aws
                .ec2
                .revoke_security_group_egress()
                .group_id(group_id)
                .set_ip_permissions(Some(perms))
                .dry_run(dry_run)
                .send()
                .await;
            if dry_run {
                return dry_run_result("ec2:RevokeSecurityGroupEgress", answer);
            }
            let out = answer.map_err(|e| AwsError::from_sdk("ec2:RevokeSecurityGroupEgress", e))?;
            Ok(
                json!({ "return": out.r#return(), "unknown_ip_permissions": out.unknown_ip_permissions().len() }),
            )
        } else {
            let answer = cx
                .aws
                .ec2
                .revoke_security_group_ingress()
                .group_id(group_id)
                .set_ip_permissions(Some(perms))
                .dry_run(dry_run)
                .send()
                .await;
            if dry_run {
                return dry_run_result("ec2:RevokeSecurityGroupIngress", answer);
            }
            let out =
                answer.map_err(|e| AwsError::from_sdk("ec2:RevokeSecurityGroupIngress", e))?;
            Ok(
                json!({ "return": out.r#return(), "unknown_ip_permissions": out.unknown_ip_permissions().len() }),
            )
        }
    }

    async fn modify(
        cx: &Ctx<'_>,
        instance_id: &str,
        groups: &[String],
        dry_run: bool,
    ) -> Result<serde_json::Value, ActionError> {
        let answer = cx
            .aws
            .ec2
            .modify_instance_attribute()
            .instance_id(instance_id)
            .set_groups(Some(groups.to_vec()))
            .dry_run(dry_run)
            .send()
            .await;
        if dry_run {
            return dry_run_result("ec2:ModifyInstanceAttribute", answer);
        }
        answer.map_err(|e| AwsError::from_sdk("ec2:ModifyInstanceAttribute", e))?;
        Ok(serde_json::Value::Null)
    }
}

#[async_trait]
impl Action for IsolateInstance {
    fn id(&self) -> &'static str {
        "ec2.isolate_instance"
    }

    async fn capture(&self, cx: &Ctx<'_>, params: &Params) -> Result<State, ActionError> {
        let instance_id = str_param(params, "instance_id")?;
        let name = Self::name(params)?;
        let instance = describe_instance(cx, instance_id).await?;
        let vpc_id = instance
            .vpc_id()
            .ok_or_else(|| {
                ActionError::Precondition(format!("instance {instance_id} is not in a VPC"))
            })?
            .to_owned();
        let security_groups = instance
            .security_groups()
            .iter()
            .filter_map(|g| {
                Some(GroupRef {
                    group_id: g.group_id()?.to_owned(),
                    group_name: g.group_name().map(str::to_owned),
                })
            })
            .collect();
        let quarantine_group = find_group(cx, &vpc_id, name).await?;
        to_state(&IsolationState {
            instance_id: instance_id.to_owned(),
            vpc_id,
            security_groups,
            network_interfaces: instance.network_interfaces().len(),
            quarantine_group,
        })
    }

    fn compliant(&self, _params: &Params, state: &State, _cx: &Ctx<'_>) -> bool {
        parse_state::<IsolationState>(state, "instance isolation").is_ok_and(|s| s.isolated())
    }

    fn planned_calls(&self, params: &Params, before: &State, _cx: &Ctx<'_>) -> Vec<Call> {
        Self::plan(params, before).unwrap_or_default()
    }

    /// Sends every request apply would send with `DryRun=true`. When the quarantine group
    /// does not exist yet, its egress revoke cannot be tried (it is recorded with a note),
    /// and the group swap is tried with the instance's current groups, which proves
    /// `ec2:ModifyInstanceAttribute` on the instance.
    async fn dry_run(
        &self,
        cx: &Ctx<'_>,
        params: &Params,
        before: &State,
    ) -> Result<Vec<Call>, ActionError> {
        let state: IsolationState = parse_state(before, "instance isolation")?;
        let mut calls = Self::plan(params, before)?;
        if calls.is_empty() {
            return Ok(calls);
        }
        state.check_single_interface()?;
        let name = Self::name(params)?;
        let qid = state.quarantine_group.as_ref().map(|q| q.group_id.clone());
        for call in &mut calls {
            call.result = match call.action.as_str() {
                "ec2:CreateSecurityGroup" => {
                    let answer = Self::create_request(cx, &state, name)
                        .dry_run(true)
                        .send()
                        .await;
                    dry_run_result("ec2:CreateSecurityGroup", answer)?
                }
                "ec2:RevokeSecurityGroupEgress" | "ec2:RevokeSecurityGroupIngress" => {
                    match (&qid, &state.quarantine_group) {
                        (Some(id), Some(q)) => {
                            let egress = call.action == "ec2:RevokeSecurityGroupEgress";
                            let perms = if egress { &q.egress } else { &q.ingress };
                            Self::revoke(cx, egress, id, perms, true).await?
                        }
                        _ => {
                            json!({ "code": null, "note": "not tried: the quarantine group does not exist yet" })
                        }
                    }
                }
                "ec2:ModifyInstanceAttribute" => match &qid {
                    Some(id) => {
                        Self::modify(cx, &state.instance_id, std::slice::from_ref(id), true).await?
                    }
                    None => {
                        let current = state.group_ids();
                        let mut result =
                            Self::modify(cx, &state.instance_id, &current, true).await?;
                        if let Some(obj) = result.as_object_mut() {
                            obj.insert(
                                "note".to_owned(),
                                json!(format!(
                                    "tried with the instance's current groups {}: the quarantine group does not exist yet",
                                    current.join(", ")
                                )),
                            );
                        }
                        result
                    }
                },
                _ => serde_json::Value::Null,
            };
        }
        Ok(calls)
    }

    async fn apply(
        &self,
        cx: &Ctx<'_>,
        params: &Params,
        before: &State,
    ) -> Result<Vec<Call>, ActionError> {
        let state: IsolationState = parse_state(before, "instance isolation")?;
        if state.isolated() {
            return Ok(vec![]);
        }
        state.check_single_interface()?;
        let name = Self::name(params)?;
        let mut calls = Vec::new();
        let group_id = match &state.quarantine_group {
            Some(q) => q.group_id.clone(),
            None => match Self::create_group(cx, &state, name).await {
                Ok(id) => {
                    calls.push(
                        Self::create_call(&state, name).with_result(json!({ "group_id": id })),
                    );
                    id
                }
                // Created meanwhile (e.g. by a concurrent remediation in the same VPC): reuse it.
                Err(e) if e.code() == Some("InvalidGroup.Duplicate") => {
                    find_group(cx, &state.vpc_id, name)
                        .await?
                        .map(|q| q.group_id)
                        .ok_or(ActionError::Aws(e))?
                }
                Err(e) => return Err(e.into()),
            },
        };
        // Read the group's rules now: a new group has EC2's default egress rule(s), and a
        // reused group may have been given rules since capture.
        let group = group_by_id(cx, &group_id, name).await?;
        for (egress, perms) in [(true, &group.egress), (false, &group.ingress)] {
            if perms.is_empty() {
                continue;
            }
            let action = if egress {
                "ec2:RevokeSecurityGroupEgress"
            } else {
                "ec2:RevokeSecurityGroupIngress"
            };
            let result = Self::revoke(cx, egress, &group_id, perms, false).await?;
            calls.push(Self::revoke_call(action, Some(&group_id), perms).with_result(result));
        }
        let groups = vec![group_id];
        if state.group_ids() != groups {
            let result = Self::modify(cx, &state.instance_id, &groups, false).await?;
            calls.push(Self::modify_call(&state.instance_id, &groups).with_result(result));
        }
        Ok(calls)
    }

    /// Puts the captured groups back on the instance. The quarantine group stays (it is
    /// reused by the next isolation in this VPC).
    async fn revert(
        &self,
        cx: &Ctx<'_>,
        _params: &Params,
        before: &State,
    ) -> Result<Vec<Call>, ActionError> {
        let state: IsolationState = parse_state(before, "instance isolation")?;
        let groups = state.group_ids();
        if groups.is_empty() {
            return Err(ActionError::Precondition(format!(
                "the before-state of instance {} lists no security group to restore",
                state.instance_id
            )));
        }
        let result = Self::modify(cx, &state.instance_id, &groups, false).await?;
        Ok(vec![
            Self::modify_call(&state.instance_id, &groups).with_result(result),
        ])
    }
}

// ---------------------------------------------------------------------------------------
// Shared helpers of the actions below
// ---------------------------------------------------------------------------------------

/// Checks an EC2 id whose kind the playbook language has no syntax for (`snap-`, `ami-`,
/// `subnet-`, `vpc-`): the prefix and 8 or 17 lowercase hex digits. Nothing else reaches
/// an AWS call.
fn check_id<'a>(value: &'a str, prefix: &str, what: &str) -> Result<&'a str, ActionError> {
    let ok = value.strip_prefix(prefix).is_some_and(|hex| {
        (hex.len() == 8 || hex.len() == 17)
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    });
    if ok {
        Ok(value)
    } else {
        Err(ActionError::Precondition(format!(
            "{value:?} is not {what} ({prefix}… followed by 8 or 17 hex digits)"
        )))
    }
}

/// A not-found error as a precondition that names the resource; other errors unchanged.
fn not_found(err: AwsError, what: String) -> ActionError {
    if err.is_not_found() || err.code().is_some_and(|c| c.contains("NotFound")) {
        ActionError::Precondition(format!("{what} was not found"))
    } else {
        err.into()
    }
}

// ---------------------------------------------------------------------------------------
// ec2.remove_snapshot_public_permission and ec2.remove_image_public_permission
// ---------------------------------------------------------------------------------------

/// Who may use a snapshot (create-volume permission) or an AMI (launch permission).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShareState {
    /// `snap-…` or `ami-…`.
    pub resource_id: String,
    /// Whether the group `all` (everyone) has the permission.
    pub public: bool,
    /// Accounts it is shared with by id (kept by the fix; recorded for the reviewer).
    pub shared_with_accounts: Vec<String>,
}

impl ShareState {
    fn parse(state: &State) -> Result<Self, ActionError> {
        parse_state(state, "public sharing")
    }
}

/// `ec2.remove_snapshot_public_permission`: removes the group `all` from a snapshot's
/// create-volume permission (`operation_type(Remove)` + `group_names("all")`, the form moto
/// and EC2 both honour); accounts it is shared with by id keep their access. Revert adds
/// the group back when the snapshot was public.
pub struct RemoveSnapshotPublicPermission;

impl RemoveSnapshotPublicPermission {
    fn call(snapshot_id: &str, operation: &str) -> Call {
        Call::new(
            "ec2:ModifySnapshotAttribute",
            json!({
                "snapshot_id": snapshot_id,
                "attribute": "createVolumePermission",
                "operation_type": operation,
                "group_names": ["all"],
            }),
        )
    }

    fn plan(before: &State) -> Result<Option<(ShareState, Call)>, ActionError> {
        let state = ShareState::parse(before)?;
        if !state.public {
            return Ok(None);
        }
        let call = Self::call(&state.resource_id, "remove");
        Ok(Some((state, call)))
    }

    async fn modify(
        cx: &Ctx<'_>,
        snapshot_id: &str,
        operation: OperationType,
        dry_run: bool,
    ) -> Result<serde_json::Value, ActionError> {
        let answer = cx
            .aws
            .ec2
            .modify_snapshot_attribute()
            .snapshot_id(snapshot_id)
            .attribute(SnapshotAttributeName::CreateVolumePermission)
            .operation_type(operation)
            .group_names("all")
            .dry_run(dry_run)
            .send()
            .await;
        if dry_run {
            return dry_run_result("ec2:ModifySnapshotAttribute", answer);
        }
        answer.map_err(|e| AwsError::from_sdk("ec2:ModifySnapshotAttribute", e))?;
        Ok(serde_json::Value::Null)
    }
}

#[async_trait]
impl Action for RemoveSnapshotPublicPermission {
    fn id(&self) -> &'static str {
        "ec2.remove_snapshot_public_permission"
    }

    async fn capture(&self, cx: &Ctx<'_>, params: &Params) -> Result<State, ActionError> {
        let snapshot_id = check_id(str_param(params, "snapshot_id")?, "snap-", "a snapshot id")?;
        let out = cx
            .aws
            .ec2
            .describe_snapshot_attribute()
            .snapshot_id(snapshot_id)
            .attribute(SnapshotAttributeName::CreateVolumePermission)
            .send()
            .await
            .map_err(|e| {
                not_found(
                    AwsError::from_sdk("ec2:DescribeSnapshotAttribute", e),
                    format!("snapshot {snapshot_id}"),
                )
            })?;
        let perms = out.create_volume_permissions();
        to_state(&ShareState {
            resource_id: snapshot_id.to_owned(),
            public: perms
                .iter()
                .any(|p| p.group() == Some(&PermissionGroup::All)),
            shared_with_accounts: perms
                .iter()
                .filter_map(|p| p.user_id())
                .map(str::to_owned)
                .collect(),
        })
    }

    fn compliant(&self, _params: &Params, state: &State, _cx: &Ctx<'_>) -> bool {
        ShareState::parse(state).is_ok_and(|s| !s.public)
    }

    fn planned_calls(&self, _params: &Params, before: &State, _cx: &Ctx<'_>) -> Vec<Call> {
        Self::plan(before)
            .ok()
            .flatten()
            .map(|(_, c)| c)
            .into_iter()
            .collect()
    }

    async fn dry_run(
        &self,
        cx: &Ctx<'_>,
        _params: &Params,
        before: &State,
    ) -> Result<Vec<Call>, ActionError> {
        let Some((state, call)) = Self::plan(before)? else {
            return Ok(vec![]);
        };
        let result = Self::modify(cx, &state.resource_id, OperationType::Remove, true).await?;
        Ok(vec![call.with_result(result)])
    }

    async fn apply(
        &self,
        cx: &Ctx<'_>,
        _params: &Params,
        before: &State,
    ) -> Result<Vec<Call>, ActionError> {
        let Some((state, call)) = Self::plan(before)? else {
            return Ok(vec![]);
        };
        let result = Self::modify(cx, &state.resource_id, OperationType::Remove, false).await?;
        Ok(vec![call.with_result(result)])
    }

    /// Adds the group `all` back when the snapshot was public before.
    async fn revert(
        &self,
        cx: &Ctx<'_>,
        _params: &Params,
        before: &State,
    ) -> Result<Vec<Call>, ActionError> {
        let state = ShareState::parse(before)?;
        if !state.public {
            return Ok(vec![]);
        }
        let result = Self::modify(cx, &state.resource_id, OperationType::Add, false).await?;
        Ok(vec![
            Self::call(&state.resource_id, "add").with_result(result),
        ])
    }
}

/// `ec2.remove_image_public_permission`: removes the group `all` from an AMI's launch
/// permission; accounts it is shared with by id keep theirs. Revert adds it back.
pub struct RemoveImagePublicPermission;

impl RemoveImagePublicPermission {
    fn call(image_id: &str, operation: &str) -> Call {
        Call::new(
            "ec2:ModifyImageAttribute",
            json!({
                "image_id": image_id,
                "launch_permission": { operation: [{ "group": "all" }] },
            }),
        )
    }

    fn plan(before: &State) -> Result<Option<(ShareState, Call)>, ActionError> {
        let state = ShareState::parse(before)?;
        if !state.public {
            return Ok(None);
        }
        let call = Self::call(&state.resource_id, "remove");
        Ok(Some((state, call)))
    }

    async fn modify(
        cx: &Ctx<'_>,
        image_id: &str,
        add: bool,
        dry_run: bool,
    ) -> Result<serde_json::Value, ActionError> {
        let everyone = LaunchPermission::builder()
            .group(PermissionGroup::All)
            .build();
        let change = if add {
            LaunchPermissionModifications::builder().add(everyone)
        } else {
            LaunchPermissionModifications::builder().remove(everyone)
        };
        let answer = cx
            .aws
            .ec2
            .modify_image_attribute()
            .image_id(image_id)
            .launch_permission(change.build())
            .dry_run(dry_run)
            .send()
            .await;
        if dry_run {
            return dry_run_result("ec2:ModifyImageAttribute", answer);
        }
        answer.map_err(|e| AwsError::from_sdk("ec2:ModifyImageAttribute", e))?;
        Ok(serde_json::Value::Null)
    }
}

#[async_trait]
impl Action for RemoveImagePublicPermission {
    fn id(&self) -> &'static str {
        "ec2.remove_image_public_permission"
    }

    async fn capture(&self, cx: &Ctx<'_>, params: &Params) -> Result<State, ActionError> {
        let image_id = check_id(str_param(params, "image_id")?, "ami-", "an AMI id")?;
        let out = cx
            .aws
            .ec2
            .describe_image_attribute()
            .image_id(image_id)
            .attribute(ImageAttributeName::LaunchPermission)
            .send()
            .await
            .map_err(|e| {
                not_found(
                    AwsError::from_sdk("ec2:DescribeImageAttribute", e),
                    format!("AMI {image_id}"),
                )
            })?;
        let perms = out.launch_permissions();
        to_state(&ShareState {
            resource_id: image_id.to_owned(),
            public: perms
                .iter()
                .any(|p| p.group() == Some(&PermissionGroup::All)),
            shared_with_accounts: perms
                .iter()
                .filter_map(|p| p.user_id())
                .map(str::to_owned)
                .collect(),
        })
    }

    fn compliant(&self, _params: &Params, state: &State, _cx: &Ctx<'_>) -> bool {
        ShareState::parse(state).is_ok_and(|s| !s.public)
    }

    fn planned_calls(&self, _params: &Params, before: &State, _cx: &Ctx<'_>) -> Vec<Call> {
        Self::plan(before)
            .ok()
            .flatten()
            .map(|(_, c)| c)
            .into_iter()
            .collect()
    }

    async fn dry_run(
        &self,
        cx: &Ctx<'_>,
        _params: &Params,
        before: &State,
    ) -> Result<Vec<Call>, ActionError> {
        let Some((state, call)) = Self::plan(before)? else {
            return Ok(vec![]);
        };
        let result = Self::modify(cx, &state.resource_id, false, true).await?;
        Ok(vec![call.with_result(result)])
    }

    async fn apply(
        &self,
        cx: &Ctx<'_>,
        _params: &Params,
        before: &State,
    ) -> Result<Vec<Call>, ActionError> {
        let Some((state, call)) = Self::plan(before)? else {
            return Ok(vec![]);
        };
        let result = Self::modify(cx, &state.resource_id, false, false).await?;
        Ok(vec![call.with_result(result)])
    }

    async fn revert(
        &self,
        cx: &Ctx<'_>,
        _params: &Params,
        before: &State,
    ) -> Result<Vec<Call>, ActionError> {
        let state = ShareState::parse(before)?;
        if !state.public {
            return Ok(vec![]);
        }
        let result = Self::modify(cx, &state.resource_id, true, false).await?;
        Ok(vec![
            Self::call(&state.resource_id, "add").with_result(result),
        ])
    }
}

// ---------------------------------------------------------------------------------------
// ec2.require_imdsv2
// ---------------------------------------------------------------------------------------

/// `ec2.require_imdsv2`: sets `HttpTokens=required` and nothing else (the endpoint and the
/// hop limit are left as they are). Revert sends the captured tokens setting, endpoint and
/// hop limit back.
pub struct RequireImdsv2;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetadataOptionsState {
    pub instance_id: String,
    /// `optional` or `required`.
    pub http_tokens: Option<String>,
    /// `enabled` or `disabled`.
    pub http_endpoint: Option<String>,
    pub http_put_response_hop_limit: Option<i32>,
    /// `pending` or `applied`.
    pub state: Option<String>,
}

impl MetadataOptionsState {
    fn requires_tokens(&self) -> bool {
        self.http_tokens.as_deref() == Some("required")
    }
}

impl RequireImdsv2 {
    fn plan(before: &State) -> Result<Option<(MetadataOptionsState, Call)>, ActionError> {
        let state: MetadataOptionsState = parse_state(before, "instance metadata options")?;
        if state.requires_tokens() {
            return Ok(None);
        }
        let call = Call::new(
            "ec2:ModifyInstanceMetadataOptions",
            json!({ "instance_id": state.instance_id, "http_tokens": "required" }),
        );
        Ok(Some((state, call)))
    }

    fn request(
        cx: &Ctx<'_>,
        instance_id: &str,
    ) -> aws_sdk_ec2::operation::modify_instance_metadata_options::builders::ModifyInstanceMetadataOptionsFluentBuilder
    {
        cx.aws
            .ec2
            .modify_instance_metadata_options()
            .instance_id(instance_id)
    }

    fn result(
        out: &aws_sdk_ec2::operation::modify_instance_metadata_options::ModifyInstanceMetadataOptionsOutput,
    ) -> serde_json::Value {
        let o = out.instance_metadata_options();
        json!({
            "http_tokens": o.and_then(|o| o.http_tokens()).map(|t| t.as_str()),
            "state": o.and_then(|o| o.state()).map(|s| s.as_str()),
        })
    }
}

#[async_trait]
impl Action for RequireImdsv2 {
    fn id(&self) -> &'static str {
        "ec2.require_imdsv2"
    }

    async fn capture(&self, cx: &Ctx<'_>, params: &Params) -> Result<State, ActionError> {
        let instance_id = str_param(params, "instance_id")?;
        let instance = describe_instance(cx, instance_id).await?;
        let o = instance.metadata_options();
        to_state(&MetadataOptionsState {
            instance_id: instance_id.to_owned(),
            http_tokens: o
                .and_then(|o| o.http_tokens())
                .map(|t| t.as_str().to_owned()),
            http_endpoint: o
                .and_then(|o| o.http_endpoint())
                .map(|t| t.as_str().to_owned()),
            http_put_response_hop_limit: o.and_then(|o| o.http_put_response_hop_limit()),
            state: o.and_then(|o| o.state()).map(|t| t.as_str().to_owned()),
        })
    }

    fn compliant(&self, _params: &Params, state: &State, _cx: &Ctx<'_>) -> bool {
        parse_state::<MetadataOptionsState>(state, "instance metadata options")
            .is_ok_and(|s| s.requires_tokens())
    }

    fn planned_calls(&self, _params: &Params, before: &State, _cx: &Ctx<'_>) -> Vec<Call> {
        Self::plan(before)
            .ok()
            .flatten()
            .map(|(_, c)| c)
            .into_iter()
            .collect()
    }

    async fn dry_run(
        &self,
        cx: &Ctx<'_>,
        _params: &Params,
        before: &State,
    ) -> Result<Vec<Call>, ActionError> {
        let Some((state, call)) = Self::plan(before)? else {
            return Ok(vec![]);
        };
        let answer = Self::request(cx, &state.instance_id)
            .http_tokens(HttpTokensState::Required)
            .dry_run(true)
            .send()
            .await;
        let result = dry_run_result("ec2:ModifyInstanceMetadataOptions", answer)?;
        Ok(vec![call.with_result(result)])
    }

    async fn apply(
        &self,
        cx: &Ctx<'_>,
        _params: &Params,
        before: &State,
    ) -> Result<Vec<Call>, ActionError> {
        let Some((state, call)) = Self::plan(before)? else {
            return Ok(vec![]);
        };
        let out = Self::request(cx, &state.instance_id)
            .http_tokens(HttpTokensState::Required)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("ec2:ModifyInstanceMetadataOptions", e))?;
        Ok(vec![call.with_result(Self::result(&out))])
    }

    /// Sends the captured options back (tokens, and the endpoint and hop limit as they
    /// were), when tokens were not required before.
    async fn revert(
        &self,
        cx: &Ctx<'_>,
        _params: &Params,
        before: &State,
    ) -> Result<Vec<Call>, ActionError> {
        let state: MetadataOptionsState = parse_state(before, "instance metadata options")?;
        if state.requires_tokens() {
            return Ok(vec![]);
        }
        let tokens = state.http_tokens.as_deref().unwrap_or("optional");
        let out = Self::request(cx, &state.instance_id)
            .http_tokens(HttpTokensState::from(tokens))
            .set_http_endpoint(
                state
                    .http_endpoint
                    .as_deref()
                    .map(InstanceMetadataEndpointState::from),
            )
            .set_http_put_response_hop_limit(state.http_put_response_hop_limit)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("ec2:ModifyInstanceMetadataOptions", e))?;
        Ok(vec![
            Call::new(
                "ec2:ModifyInstanceMetadataOptions",
                json!({
                    "instance_id": state.instance_id,
                    "http_tokens": tokens,
                    "http_endpoint": state.http_endpoint,
                    "http_put_response_hop_limit": state.http_put_response_hop_limit,
                }),
            )
            .with_result(Self::result(&out)),
        ])
    }
}

// ---------------------------------------------------------------------------------------
// ec2.revoke_all_group_rules
// ---------------------------------------------------------------------------------------

/// `ec2.revoke_all_group_rules`: revokes every ingress and egress rule of a VPC's default
/// security group (name `default`, in a VPC); any other group is refused at capture.
/// Revert re-authorizes exactly the captured rules (protocol, ports, source, description).
pub struct RevokeAllGroupRules;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupRulesState {
    pub group_id: String,
    pub group_name: Option<String>,
    pub vpc_id: Option<String>,
    pub ingress: Vec<SgRule>,
    pub egress: Vec<SgRule>,
}

impl GroupRulesState {
    fn closed(&self) -> bool {
        self.ingress.is_empty() && self.egress.is_empty()
    }

    fn check_default(&self) -> Result<(), ActionError> {
        if self.group_name.as_deref() == Some("default") && self.vpc_id.is_some() {
            Ok(())
        } else {
            Err(ActionError::Precondition(format!(
                "security group {} ({}) is not a VPC's default group: ec2.revoke_all_group_rules closes default groups only",
                self.group_id,
                self.group_name.as_deref().unwrap_or("no name")
            )))
        }
    }
}

/// One revoke of [`RevokeAllGroupRules`]: `(egress, rule ids, call)`.
type Revocation = (bool, Vec<String>, Call);

impl RevokeAllGroupRules {
    /// `(egress, rule ids, call)` for each direction that has rules.
    fn plan(before: &State) -> Result<(GroupRulesState, Vec<Revocation>), ActionError> {
        let state: GroupRulesState = parse_state(before, "security group rules")?;
        state.check_default()?;
        let mut out = Vec::new();
        for (egress, rules) in [(false, &state.ingress), (true, &state.egress)] {
            if rules.is_empty() {
                continue;
            }
            let ids = RevokeOpenIngress::rule_ids(rules)?;
            let action = if egress {
                "ec2:RevokeSecurityGroupEgress"
            } else {
                "ec2:RevokeSecurityGroupIngress"
            };
            let call = Call::new(
                action,
                json!({ "group_id": state.group_id, "security_group_rule_ids": ids }),
            );
            out.push((egress, ids, call));
        }
        Ok((state, out))
    }

    async fn revoke(
        cx: &Ctx<'_>,
        group_id: &str,
        egress: bool,
        ids: Vec<String>,
        dry_run: bool,
    ) -> Result<serde_json::Value, ActionError> {
        if egress {
            let answer = cx
                .aws
                .ec2
                .revoke_security_group_egress()
                .group_id(group_id)
                .set_security_group_rule_ids(Some(ids))
                .dry_run(dry_run)
                .send()
                .await;
            if dry_run {
                return dry_run_result("ec2:RevokeSecurityGroupEgress", answer);
            }
            let out = answer.map_err(|e| AwsError::from_sdk("ec2:RevokeSecurityGroupEgress", e))?;
            Ok(json!({
                "return": out.r#return(),
                "revoked_security_group_rule_ids": out
                    .revoked_security_group_rules()
                    .iter()
                    .filter_map(|r| r.security_group_rule_id())
                    .collect::<Vec<_>>(),
                "unknown_ip_permissions": out.unknown_ip_permissions().len(),
            }))
        } else {
            let answer = cx
                .aws
                .ec2
                .revoke_security_group_ingress()
                .group_id(group_id)
                .set_security_group_rule_ids(Some(ids))
                .dry_run(dry_run)
                .send()
                .await;
            if dry_run {
                return dry_run_result("ec2:RevokeSecurityGroupIngress", answer);
            }
            let out =
                answer.map_err(|e| AwsError::from_sdk("ec2:RevokeSecurityGroupIngress", e))?;
            Ok(json!({
                "return": out.r#return(),
                "revoked_security_group_rule_ids": out
                    .revoked_security_group_rules()
                    .iter()
                    .filter_map(|r| r.security_group_rule_id())
                    .collect::<Vec<_>>(),
                "unknown_ip_permissions": out.unknown_ip_permissions().len(),
            }))
        }
    }
}

#[async_trait]
impl Action for RevokeAllGroupRules {
    fn id(&self) -> &'static str {
        "ec2.revoke_all_group_rules"
    }

    async fn capture(&self, cx: &Ctx<'_>, params: &Params) -> Result<State, ActionError> {
        let group_id = str_param(params, "group_id")?;
        let group = describe_group(cx, group_id).await?;
        let (ingress, egress) = group_rules(cx, group_id).await?;
        let state = GroupRulesState {
            group_id: group_id.to_owned(),
            group_name: group.group_name().map(str::to_owned),
            vpc_id: group.vpc_id().map(str::to_owned),
            ingress,
            egress,
        };
        state.check_default()?;
        to_state(&state)
    }

    fn compliant(&self, _params: &Params, state: &State, _cx: &Ctx<'_>) -> bool {
        parse_state::<GroupRulesState>(state, "security group rules").is_ok_and(|s| s.closed())
    }

    fn planned_calls(&self, _params: &Params, before: &State, _cx: &Ctx<'_>) -> Vec<Call> {
        Self::plan(before)
            .map(|(_, p)| p.into_iter().map(|(_, _, c)| c).collect())
            .unwrap_or_default()
    }

    async fn dry_run(
        &self,
        cx: &Ctx<'_>,
        _params: &Params,
        before: &State,
    ) -> Result<Vec<Call>, ActionError> {
        let (state, plan) = Self::plan(before)?;
        let mut calls = Vec::new();
        for (egress, ids, call) in plan {
            let result = Self::revoke(cx, &state.group_id, egress, ids, true).await?;
            calls.push(call.with_result(result));
        }
        Ok(calls)
    }

    async fn apply(
        &self,
        cx: &Ctx<'_>,
        _params: &Params,
        before: &State,
    ) -> Result<Vec<Call>, ActionError> {
        let (state, plan) = Self::plan(before)?;
        let mut calls = Vec::new();
        for (egress, ids, call) in plan {
            let result = Self::revoke(cx, &state.group_id, egress, ids, false).await?;
            calls.push(call.with_result(result));
        }
        Ok(calls)
    }

    /// Re-creates every captured rule that is not there now, one Authorize call per rule
    /// (each records the rule id it created), so an interrupted revert can run again.
    async fn revert(
        &self,
        cx: &Ctx<'_>,
        _params: &Params,
        before: &State,
    ) -> Result<Vec<Call>, ActionError> {
        let state: GroupRulesState = parse_state(before, "security group rules")?;
        let (now_in, now_out) = group_rules(cx, &state.group_id).await?;
        let now_in: Vec<SgRule> = now_in.iter().map(SgRule::shape).collect();
        let now_out: Vec<SgRule> = now_out.iter().map(SgRule::shape).collect();
        let mut calls = Vec::new();
        for (egress, rules, now) in [
            (false, &state.ingress, &now_in),
            (true, &state.egress, &now_out),
        ] {
            for rule in rules {
                let shape = rule.shape();
                if now.contains(&shape) {
                    continue;
                }
                let (action, created) = if egress {
                    let out = cx
                        .aws
                        .ec2
                        .authorize_security_group_egress()
                        .group_id(&state.group_id)
                        .ip_permissions(rule.to_permission())
                        .send()
                        .await
                        .map_err(|e| AwsError::from_sdk("ec2:AuthorizeSecurityGroupEgress", e))?;
                    (
                        "ec2:AuthorizeSecurityGroupEgress",
                        out.security_group_rules()
                            .iter()
                            .filter_map(|r| r.security_group_rule_id())
                            .map(str::to_owned)
                            .collect::<Vec<_>>(),
                    )
                } else {
                    let out = cx
                        .aws
                        .ec2
                        .authorize_security_group_ingress()
                        .group_id(&state.group_id)
                        .ip_permissions(rule.to_permission())
                        .send()
                        .await
                        .map_err(|e| AwsError::from_sdk("ec2:AuthorizeSecurityGroupIngress", e))?;
                    (
                        "ec2:AuthorizeSecurityGroupIngress",
                        out.security_group_rules()
                            .iter()
                            .filter_map(|r| r.security_group_rule_id())
                            .map(str::to_owned)
                            .collect::<Vec<_>>(),
                    )
                };
                calls.push(
                    Call::new(
                        action,
                        json!({ "group_id": state.group_id, "rule": shape, "restores": rule.rule_id }),
                    )
                    .with_result(json!({ "security_group_rule_ids": created })),
                );
            }
        }
        Ok(calls)
    }
}

// ---------------------------------------------------------------------------------------
// ec2.revoke_unauthorized_open_ingress
// ---------------------------------------------------------------------------------------

/// `ec2.revoke_unauthorized_open_ingress`: revokes the world-open ingress rules of a group
/// whose port range is not entirely within `allowed_ports` (Security Hub EC2.18). What
/// counts as a port rule is as for `ec2.revoke_open_ingress`: all-traffic and SCTP rules
/// always offend, TCP/UDP rules offend unless every port of their range is allowed, ICMP
/// and port-less protocols and rules sourced from prefix lists or groups are kept.
pub struct RevokeUnauthorizedOpenIngress;

impl SgRule {
    /// Whether this rule is world-open (by `cidrs`) on a port outside `allowed`.
    fn opens_unauthorized(&self, allowed: &[i64], cidrs: &[String]) -> bool {
        if self.prefix_list_id.is_some() || self.referenced_group_id.is_some() {
            return false;
        }
        let Some(source) = self.source() else {
            return false;
        };
        if !cidrs.iter().any(|c| c == source) {
            return false;
        }
        match self.protocol.to_ascii_lowercase().as_str() {
            "-1" | "all" | "sctp" | "132" => true,
            "tcp" | "udp" | "6" | "17" => match (self.from_port, self.to_port) {
                (Some(from), Some(to)) => {
                    let (from, to) = (i64::from(from), i64::from(to));
                    // A range wider than the list cannot be inside it.
                    let width = usize::try_from(to - from + 1).unwrap_or(usize::MAX);
                    width > allowed.len() || !(from..=to).all(|p| allowed.contains(&p))
                }
                _ => true,
            },
            _ => false,
        }
    }
}

fn unauthorized_rules(params: &Params, ingress: &[SgRule]) -> Result<Vec<SgRule>, ActionError> {
    let allowed = int_list_param(params, "allowed_ports")?;
    let cidrs = str_list_param(params, "cidrs")?;
    Ok(ingress
        .iter()
        .filter(|r| r.opens_unauthorized(allowed, cidrs))
        .cloned()
        .collect())
}

impl RevokeUnauthorizedOpenIngress {
    fn state(params: &Params, before: &State) -> Result<IngressState, ActionError> {
        let mut state: IngressState = parse_state(before, "security group ingress")?;
        state.offending = unauthorized_rules(params, &state.ingress)?;
        Ok(state)
    }
}

#[async_trait]
impl Action for RevokeUnauthorizedOpenIngress {
    fn id(&self) -> &'static str {
        "ec2.revoke_unauthorized_open_ingress"
    }

    async fn capture(&self, cx: &Ctx<'_>, params: &Params) -> Result<State, ActionError> {
        let group_id = str_param(params, "group_id")?;
        let group = describe_group(cx, group_id).await?;
        let ingress = ingress_rules(cx, group_id).await?;
        let offending = unauthorized_rules(params, &ingress)?;
        to_state(&IngressState {
            group_id: group_id.to_owned(),
            group_name: group.group_name().map(str::to_owned),
            vpc_id: group.vpc_id().map(str::to_owned),
            ingress,
            offending,
        })
    }

    fn compliant(&self, params: &Params, state: &State, _cx: &Ctx<'_>) -> bool {
        Self::state(params, state).is_ok_and(|s| s.offending.is_empty())
    }

    fn planned_calls(&self, params: &Params, before: &State, _cx: &Ctx<'_>) -> Vec<Call> {
        Self::state(params, before)
            .and_then(|s| RevokeOpenIngress::revoke_call(&s))
            .ok()
            .flatten()
            .into_iter()
            .collect()
    }

    async fn dry_run(
        &self,
        cx: &Ctx<'_>,
        params: &Params,
        before: &State,
    ) -> Result<Vec<Call>, ActionError> {
        ingress_revoke(cx, &Self::state(params, before)?, true).await
    }

    async fn apply(
        &self,
        cx: &Ctx<'_>,
        params: &Params,
        before: &State,
    ) -> Result<Vec<Call>, ActionError> {
        ingress_revoke(cx, &Self::state(params, before)?, false).await
    }

    async fn revert(
        &self,
        cx: &Ctx<'_>,
        params: &Params,
        before: &State,
    ) -> Result<Vec<Call>, ActionError> {
        ingress_restore(cx, &Self::state(params, before)?).await
    }
}

// ---------------------------------------------------------------------------------------
// ec2.disable_subnet_public_ip
// ---------------------------------------------------------------------------------------

/// `ec2.disable_subnet_public_ip`: turns `MapPublicIpOnLaunch` off on a subnet; revert turns
/// it back on when it was on. ModifySubnetAttribute has no `DryRun` flag: dry-run records
/// the planned call without sending it.
pub struct DisableSubnetPublicIp;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubnetState {
    pub subnet_id: String,
    pub vpc_id: Option<String>,
    pub map_public_ip_on_launch: bool,
}

impl DisableSubnetPublicIp {
    fn call(subnet_id: &str, value: bool) -> Call {
        Call::new(
            "ec2:ModifySubnetAttribute",
            json!({ "subnet_id": subnet_id, "map_public_ip_on_launch": value }),
        )
    }

    async fn set(cx: &Ctx<'_>, subnet_id: &str, value: bool) -> Result<Call, ActionError> {
        cx.aws
            .ec2
            .modify_subnet_attribute()
            .subnet_id(subnet_id)
            .map_public_ip_on_launch(AttributeBooleanValue::builder().value(value).build())
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("ec2:ModifySubnetAttribute", e))?;
        Ok(Self::call(subnet_id, value))
    }
}

#[async_trait]
impl Action for DisableSubnetPublicIp {
    fn id(&self) -> &'static str {
        "ec2.disable_subnet_public_ip"
    }

    async fn capture(&self, cx: &Ctx<'_>, params: &Params) -> Result<State, ActionError> {
        let subnet_id = check_id(str_param(params, "subnet_id")?, "subnet-", "a subnet id")?;
        let out = cx
            .aws
            .ec2
            .describe_subnets()
            .subnet_ids(subnet_id)
            .send()
            .await
            .map_err(|e| {
                not_found(
                    AwsError::from_sdk("ec2:DescribeSubnets", e),
                    format!("subnet {subnet_id}"),
                )
            })?;
        let subnet = out
            .subnets()
            .iter()
            .find(|s| s.subnet_id() == Some(subnet_id))
            .ok_or_else(|| {
                ActionError::Precondition(format!("subnet {subnet_id} was not found"))
            })?;
        to_state(&SubnetState {
            subnet_id: subnet_id.to_owned(),
            vpc_id: subnet.vpc_id().map(str::to_owned),
            map_public_ip_on_launch: subnet.map_public_ip_on_launch().unwrap_or(false),
        })
    }

    fn compliant(&self, _params: &Params, state: &State, _cx: &Ctx<'_>) -> bool {
        parse_state::<SubnetState>(state, "subnet").is_ok_and(|s| !s.map_public_ip_on_launch)
    }

    fn planned_calls(&self, _params: &Params, before: &State, _cx: &Ctx<'_>) -> Vec<Call> {
        parse_state::<SubnetState>(before, "subnet")
            .ok()
            .filter(|s| s.map_public_ip_on_launch)
            .map(|s| Self::call(&s.subnet_id, false))
            .into_iter()
            .collect()
    }

    async fn apply(
        &self,
        cx: &Ctx<'_>,
        _params: &Params,
        before: &State,
    ) -> Result<Vec<Call>, ActionError> {
        let state: SubnetState = parse_state(before, "subnet")?;
        if !state.map_public_ip_on_launch {
            return Ok(vec![]);
        }
        Ok(vec![Self::set(cx, &state.subnet_id, false).await?])
    }

    async fn revert(
        &self,
        cx: &Ctx<'_>,
        _params: &Params,
        before: &State,
    ) -> Result<Vec<Call>, ActionError> {
        let state: SubnetState = parse_state(before, "subnet")?;
        if !state.map_public_ip_on_launch {
            return Ok(vec![]);
        }
        Ok(vec![Self::set(cx, &state.subnet_id, true).await?])
    }
}

// ---------------------------------------------------------------------------------------
// ec2.create_flow_logs
// ---------------------------------------------------------------------------------------

/// `ec2.create_flow_logs`: when the VPC has no active flow log, creates one delivered to an
/// S3 bucket and tags it with the remediation, playbook and event. Revert deletes the flow
/// logs that were not there before and carry this playbook's and event's tags: the ones
/// this remediation created.
pub struct CreateFlowLogs;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlowLogInfo {
    pub flow_log_id: String,
    pub status: Option<String>,
    pub traffic_type: Option<String>,
    pub log_destination_type: Option<String>,
    pub log_destination: Option<String>,
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub tags: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlowLogsState {
    pub vpc_id: String,
    pub flow_logs: Vec<FlowLogInfo>,
}

impl FlowLogsState {
    fn active(&self) -> bool {
        self.flow_logs
            .iter()
            .any(|f| f.status.as_deref() == Some("ACTIVE"))
    }
}

impl CreateFlowLogs {
    fn destination(params: &Params) -> Result<&str, ActionError> {
        let arn = str_param(params, "log_destination")?;
        if arn.split(':').nth(2) != Some("s3") {
            return Err(ActionError::Precondition(format!(
                "log_destination {arn:?} is not an S3 bucket ARN (arn:aws:s3:::bucket)"
            )));
        }
        Ok(arn)
    }

    fn plan(
        params: &Params,
        before: &State,
        cx: &Ctx<'_>,
    ) -> Result<Option<(FlowLogsState, Call)>, ActionError> {
        let state: FlowLogsState = parse_state(before, "VPC flow logs")?;
        if state.active() {
            return Ok(None);
        }
        let call = Call::new(
            "ec2:CreateFlowLogs",
            json!({
                "resource_ids": [state.vpc_id],
                "resource_type": "VPC",
                "traffic_type": str_param(params, "traffic_type")?,
                "log_destination_type": "s3",
                "log_destination": Self::destination(params)?,
                "tags": SnapshotInstanceVolumes::tags(cx),
            }),
        );
        Ok(Some((state, call)))
    }

    fn request(
        cx: &Ctx<'_>,
        params: &Params,
        vpc_id: &str,
    ) -> Result<
        aws_sdk_ec2::operation::create_flow_logs::builders::CreateFlowLogsFluentBuilder,
        ActionError,
    > {
        let tag = |k: &str, v: &str| Tag::builder().key(k).value(v).build();
        Ok(cx
            .aws
            .ec2
            .create_flow_logs()
            .resource_ids(vpc_id)
            .resource_type(FlowLogsResourceType::Vpc)
            .traffic_type(TrafficType::from(str_param(params, "traffic_type")?))
            .log_destination_type(LogDestinationType::S3)
            .log_destination(Self::destination(params)?)
            .tag_specifications(
                TagSpecification::builder()
                    .resource_type(ResourceType::VpcFlowLog)
                    .tags(tag(TAG_REMEDIATION, cx.remediation_id))
                    .tags(tag(TAG_PLAYBOOK, cx.playbook_id))
                    .tags(tag(TAG_EVENT, cx.event_id))
                    .build(),
            ))
    }

    async fn flow_logs(cx: &Ctx<'_>, vpc_id: &str) -> Result<Vec<FlowLogInfo>, ActionError> {
        let mut logs = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let out = cx
                .aws
                .ec2
                .describe_flow_logs()
                .filter(filter("resource-id", vpc_id))
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("ec2:DescribeFlowLogs", e))?;
            logs.extend(out.flow_logs().iter().filter_map(|f| {
                Some(FlowLogInfo {
                    flow_log_id: f.flow_log_id()?.to_owned(),
                    status: f.flow_log_status().map(str::to_owned),
                    traffic_type: f.traffic_type().map(|t| t.as_str().to_owned()),
                    log_destination_type: f.log_destination_type().map(|t| t.as_str().to_owned()),
                    log_destination: f.log_destination().map(str::to_owned),
                    tags: f
                        .tags()
                        .iter()
                        .filter_map(|t| Some((t.key()?.to_owned(), t.value()?.to_owned())))
                        .collect(),
                })
            }));
            match out.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_owned()),
                _ => break,
            }
        }
        logs.sort_by(|a, b| a.flow_log_id.cmp(&b.flow_log_id));
        Ok(logs)
    }
}

#[async_trait]
impl Action for CreateFlowLogs {
    fn id(&self) -> &'static str {
        "ec2.create_flow_logs"
    }

    async fn capture(&self, cx: &Ctx<'_>, params: &Params) -> Result<State, ActionError> {
        let vpc_id = check_id(str_param(params, "vpc_id")?, "vpc-", "a VPC id")?;
        let out = cx
            .aws
            .ec2
            .describe_vpcs()
            .vpc_ids(vpc_id)
            .send()
            .await
            .map_err(|e| {
                not_found(
                    AwsError::from_sdk("ec2:DescribeVpcs", e),
                    format!("VPC {vpc_id}"),
                )
            })?;
        if !out.vpcs().iter().any(|v| v.vpc_id() == Some(vpc_id)) {
            return Err(ActionError::Precondition(format!(
                "VPC {vpc_id} was not found"
            )));
        }
        to_state(&FlowLogsState {
            vpc_id: vpc_id.to_owned(),
            flow_logs: Self::flow_logs(cx, vpc_id).await?,
        })
    }

    fn compliant(&self, _params: &Params, state: &State, _cx: &Ctx<'_>) -> bool {
        parse_state::<FlowLogsState>(state, "VPC flow logs").is_ok_and(|s| s.active())
    }

    fn planned_calls(&self, params: &Params, before: &State, cx: &Ctx<'_>) -> Vec<Call> {
        Self::plan(params, before, cx)
            .ok()
            .flatten()
            .map(|(_, c)| c)
            .into_iter()
            .collect()
    }

    async fn dry_run(
        &self,
        cx: &Ctx<'_>,
        params: &Params,
        before: &State,
    ) -> Result<Vec<Call>, ActionError> {
        let Some((state, call)) = Self::plan(params, before, cx)? else {
            return Ok(vec![]);
        };
        let answer = Self::request(cx, params, &state.vpc_id)?
            .dry_run(true)
            .send()
            .await;
        let result = dry_run_result("ec2:CreateFlowLogs", answer)?;
        Ok(vec![call.with_result(result)])
    }

    async fn apply(
        &self,
        cx: &Ctx<'_>,
        params: &Params,
        before: &State,
    ) -> Result<Vec<Call>, ActionError> {
        let Some((state, call)) = Self::plan(params, before, cx)? else {
            return Ok(vec![]);
        };
        let out = Self::request(cx, params, &state.vpc_id)?
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("ec2:CreateFlowLogs", e))?;
        if let Some(failed) = out.unsuccessful().first() {
            let error = failed.error();
            return Err(ActionError::Precondition(format!(
                "CreateFlowLogs refused VPC {}: {} {}",
                state.vpc_id,
                error.and_then(|e| e.code()).unwrap_or("?"),
                error.and_then(|e| e.message()).unwrap_or("")
            )));
        }
        Ok(vec![call.with_result(
            json!({ "flow_log_ids": out.flow_log_ids() }),
        )])
    }

    /// Deletes the flow logs of the VPC that were not there before and carry the tags of
    /// this playbook and event (the ones the fix created); others are left alone.
    async fn revert(
        &self,
        cx: &Ctx<'_>,
        _params: &Params,
        before: &State,
    ) -> Result<Vec<Call>, ActionError> {
        let state: FlowLogsState = parse_state(before, "VPC flow logs")?;
        let created: Vec<String> = Self::flow_logs(cx, &state.vpc_id)
            .await?
            .into_iter()
            .filter(|f| {
                !state
                    .flow_logs
                    .iter()
                    .any(|b| b.flow_log_id == f.flow_log_id)
                    && f.tags.get(TAG_PLAYBOOK).map(String::as_str) == Some(cx.playbook_id)
                    && f.tags.get(TAG_EVENT).map(String::as_str) == Some(cx.event_id)
            })
            .map(|f| f.flow_log_id)
            .collect();
        if created.is_empty() {
            return Ok(vec![]);
        }
        let out = cx
            .aws
            .ec2
            .delete_flow_logs()
            .set_flow_log_ids(Some(created.clone()))
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("ec2:DeleteFlowLogs", e))?;
        Ok(vec![
            Call::new("ec2:DeleteFlowLogs", json!({ "flow_log_ids": created }))
                .with_result(json!({ "unsuccessful": out.unsuccessful().len() })),
        ])
    }
}

// ---------------------------------------------------------------------------------------
// ec2.enable_snapshot_block_public_access
// ---------------------------------------------------------------------------------------

/// `ec2.enable_snapshot_block_public_access`: the account-and-region setting. A mode at
/// least as strict as the one asked is compliant (`block-all-sharing` covers
/// `block-new-sharing`). Revert disables it, or sets the captured mode back.
pub struct EnableSnapshotBlockPublicAccess;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotBpaState {
    pub region: String,
    /// `unblocked`, `block-new-sharing` or `block-all-sharing`.
    pub state: String,
}

fn snapshot_bpa_satisfies(current: &str, wanted: &str) -> bool {
    current == wanted || current == "block-all-sharing"
}

impl EnableSnapshotBlockPublicAccess {
    fn plan(params: &Params, before: &State) -> Result<Option<(String, Call)>, ActionError> {
        let state: SnapshotBpaState = parse_state(before, "snapshot block public access")?;
        let wanted = str_param(params, "state")?;
        if snapshot_bpa_satisfies(&state.state, wanted) {
            return Ok(None);
        }
        Ok(Some((
            wanted.to_owned(),
            Call::new(
                "ec2:EnableSnapshotBlockPublicAccess",
                json!({ "state": wanted }),
            ),
        )))
    }

    async fn enable(
        cx: &Ctx<'_>,
        mode: &str,
        dry_run: bool,
    ) -> Result<serde_json::Value, ActionError> {
        let answer = cx
            .aws
            .ec2
            .enable_snapshot_block_public_access()
            .state(SnapshotBlockPublicAccessState::from(mode))
            .dry_run(dry_run)
            .send()
            .await;
        if dry_run {
            return dry_run_result("ec2:EnableSnapshotBlockPublicAccess", answer);
        }
        let out =
            answer.map_err(|e| AwsError::from_sdk("ec2:EnableSnapshotBlockPublicAccess", e))?;
        Ok(json!({ "state": out.state().map(|s| s.as_str()) }))
    }
}

#[async_trait]
impl Action for EnableSnapshotBlockPublicAccess {
    fn id(&self) -> &'static str {
        "ec2.enable_snapshot_block_public_access"
    }

    async fn capture(&self, cx: &Ctx<'_>, _params: &Params) -> Result<State, ActionError> {
        let out = cx
            .aws
            .ec2
            .get_snapshot_block_public_access_state()
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("ec2:GetSnapshotBlockPublicAccessState", e))?;
        to_state(&SnapshotBpaState {
            region: cx.aws.region.clone(),
            state: out.state().map_or("unblocked", |s| s.as_str()).to_owned(),
        })
    }

    fn compliant(&self, params: &Params, state: &State, _cx: &Ctx<'_>) -> bool {
        let Ok(wanted) = str_param(params, "state") else {
            return false;
        };
        parse_state::<SnapshotBpaState>(state, "snapshot block public access")
            .is_ok_and(|s| snapshot_bpa_satisfies(&s.state, wanted))
    }

    fn planned_calls(&self, params: &Params, before: &State, _cx: &Ctx<'_>) -> Vec<Call> {
        Self::plan(params, before)
            .ok()
            .flatten()
            .map(|(_, c)| c)
            .into_iter()
            .collect()
    }

    async fn dry_run(
        &self,
        cx: &Ctx<'_>,
        params: &Params,
        before: &State,
    ) -> Result<Vec<Call>, ActionError> {
        let Some((mode, call)) = Self::plan(params, before)? else {
            return Ok(vec![]);
        };
        let result = Self::enable(cx, &mode, true).await?;
        Ok(vec![call.with_result(result)])
    }

    async fn apply(
        &self,
        cx: &Ctx<'_>,
        params: &Params,
        before: &State,
    ) -> Result<Vec<Call>, ActionError> {
        let Some((mode, call)) = Self::plan(params, before)? else {
            return Ok(vec![]);
        };
        let result = Self::enable(cx, &mode, false).await?;
        Ok(vec![call.with_result(result)])
    }

    async fn revert(
        &self,
        cx: &Ctx<'_>,
        params: &Params,
        before: &State,
    ) -> Result<Vec<Call>, ActionError> {
        let state: SnapshotBpaState = parse_state(before, "snapshot block public access")?;
        if Self::plan(params, before)?.is_none() {
            return Ok(vec![]);
        }
        if state.state == "unblocked" {
            let out = cx
                .aws
                .ec2
                .disable_snapshot_block_public_access()
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("ec2:DisableSnapshotBlockPublicAccess", e))?;
            return Ok(vec![
                Call::new("ec2:DisableSnapshotBlockPublicAccess", json!({}))
                    .with_result(json!({ "state": out.state().map(|s| s.as_str()) })),
            ]);
        }
        let result = Self::enable(cx, &state.state, false).await?;
        Ok(vec![
            Call::new(
                "ec2:EnableSnapshotBlockPublicAccess",
                json!({ "state": state.state }),
            )
            .with_result(result),
        ])
    }
}

/// The ec2 actions.
pub(super) static ACTIONS: &[&dyn Action] = &[
    &EnableEbsEncryptionByDefault,
    &RevokeOpenIngress,
    &SnapshotInstanceVolumes,
    &IsolateInstance,
    &RemoveSnapshotPublicPermission,
    &RequireImdsv2,
    &RevokeAllGroupRules,
    &RevokeUnauthorizedOpenIngress,
    &DisableSubnetPublicIp,
    &CreateFlowLogs,
    &RemoveImagePublicPermission,
    &EnableSnapshotBlockPublicAccess,
];

#[cfg(test)]
mod tests {
    use super::*;
    use redress_playbooks::actions::Value;

    fn rule(protocol: &str, from: i32, to: i32, cidr: &str) -> SgRule {
        SgRule {
            rule_id: Some("sgr-1".into()),
            protocol: protocol.into(),
            from_port: Some(from),
            to_port: Some(to),
            cidr_ipv4: (!cidr.contains(':')).then(|| cidr.to_owned()),
            cidr_ipv6: cidr.contains(':').then(|| cidr.to_owned()),
            prefix_list_id: None,
            referenced_group_id: None,
            description: None,
        }
    }

    #[test]
    fn open_rules_are_those_covering_a_port_from_a_listed_source() {
        let ports = [22, 3389];
        let cidrs = ["0.0.0.0/0".to_owned(), "::/0".to_owned()];
        assert!(rule("tcp", 22, 22, "0.0.0.0/0").opens(&ports, &cidrs));
        assert!(rule("tcp", 0, 65535, "::/0").opens(&ports, &cidrs));
        assert!(rule("udp", 3000, 4000, "0.0.0.0/0").opens(&ports, &cidrs));
        assert!(rule("-1", -1, -1, "0.0.0.0/0").opens(&ports, &cidrs));
        assert!(rule("6", 20, 23, "0.0.0.0/0").opens(&ports, &cidrs));
        assert!(!rule("tcp", 443, 443, "0.0.0.0/0").opens(&ports, &cidrs));
        assert!(!rule("tcp", 22, 22, "10.0.0.0/8").opens(&ports, &cidrs));
        assert!(!rule("icmp", -1, -1, "0.0.0.0/0").opens(&ports, &cidrs));
        assert!(!rule("icmp", 3, 30, "0.0.0.0/0").opens(&ports, &cidrs));
        assert!(!rule("50", -1, -1, "0.0.0.0/0").opens(&ports, &cidrs));
        let mut pl = rule("tcp", 22, 22, "0.0.0.0/0");
        pl.cidr_ipv4 = None;
        pl.prefix_list_id = Some("pl-1".into());
        assert!(!pl.opens(&ports, &cidrs));
    }

    #[test]
    fn unauthorized_rules_are_world_open_ranges_not_entirely_allowed() {
        let allowed = [80, 443, 8443];
        let cidrs = ["0.0.0.0/0".to_owned(), "::/0".to_owned()];
        assert!(!rule("tcp", 443, 443, "0.0.0.0/0").opens_unauthorized(&allowed, &cidrs));
        assert!(!rule("udp", 80, 80, "::/0").opens_unauthorized(&allowed, &cidrs));
        assert!(rule("tcp", 22, 22, "0.0.0.0/0").opens_unauthorized(&allowed, &cidrs));
        assert!(rule("tcp", 80, 443, "0.0.0.0/0").opens_unauthorized(&allowed, &cidrs));
        assert!(rule("tcp", 0, 65535, "::/0").opens_unauthorized(&allowed, &cidrs));
        assert!(rule("-1", -1, -1, "0.0.0.0/0").opens_unauthorized(&allowed, &cidrs));
        assert!(rule("sctp", 443, 443, "0.0.0.0/0").opens_unauthorized(&allowed, &cidrs));
        assert!(!rule("tcp", 22, 22, "10.0.0.0/8").opens_unauthorized(&allowed, &cidrs));
        assert!(!rule("icmp", -1, -1, "0.0.0.0/0").opens_unauthorized(&allowed, &cidrs));
        let mut from_group = rule("tcp", 22, 22, "0.0.0.0/0");
        from_group.cidr_ipv4 = None;
        from_group.referenced_group_id = Some("sg-1".into());
        assert!(!from_group.opens_unauthorized(&allowed, &cidrs));
        assert!(rule("tcp", 443, 443, "0.0.0.0/0").opens_unauthorized(&[], &cidrs));
    }

    #[test]
    fn ids_without_a_playbook_syntax_are_checked_before_any_call() {
        assert!(check_id("snap-0123456789abcdef0", "snap-", "a snapshot id").is_ok());
        assert!(check_id("subnet-1234abcd", "subnet-", "a subnet id").is_ok());
        assert!(check_id("vpc-1234abcd", "snap-", "a snapshot id").is_err());
        assert!(check_id("snap-1234ABCD", "snap-", "a snapshot id").is_err());
        assert!(check_id("snap-1234abc", "snap-", "a snapshot id").is_err());
        assert!(check_id("ami-1234abcd/../x", "ami-", "an AMI id").is_err());
    }

    #[test]
    fn only_a_vpcs_group_named_default_may_be_closed() {
        let state = |name: Option<&str>, vpc: Option<&str>| GroupRulesState {
            group_id: "sg-1".into(),
            group_name: name.map(str::to_owned),
            vpc_id: vpc.map(str::to_owned),
            ingress: vec![],
            egress: vec![],
        };
        assert!(
            state(Some("default"), Some("vpc-1"))
                .check_default()
                .is_ok()
        );
        assert!(state(Some("web"), Some("vpc-1")).check_default().is_err());
        assert!(state(Some("default"), None).check_default().is_err());
        assert!(state(None, Some("vpc-1")).check_default().is_err());
    }

    #[test]
    fn block_all_sharing_satisfies_either_mode() {
        assert!(snapshot_bpa_satisfies(
            "block-all-sharing",
            "block-new-sharing"
        ));
        assert!(snapshot_bpa_satisfies(
            "block-all-sharing",
            "block-all-sharing"
        ));
        assert!(snapshot_bpa_satisfies(
            "block-new-sharing",
            "block-new-sharing"
        ));
        assert!(!snapshot_bpa_satisfies(
            "block-new-sharing",
            "block-all-sharing"
        ));
        assert!(!snapshot_bpa_satisfies("unblocked", "block-new-sharing"));
    }

    #[test]
    fn flow_logs_are_compliant_only_with_an_active_one_and_need_an_s3_destination() {
        let mut state = FlowLogsState {
            vpc_id: "vpc-1".into(),
            flow_logs: vec![],
        };
        assert!(!state.active());
        state.flow_logs.push(FlowLogInfo {
            flow_log_id: "fl-1".into(),
            status: Some("ACTIVE".into()),
            traffic_type: Some("ALL".into()),
            log_destination_type: Some("s3".into()),
            log_destination: Some("arn:aws:s3:::b".into()),
            tags: Default::default(),
        });
        assert!(state.active());
        let mut p = Params::new();
        p.insert(
            "log_destination".into(),
            Value::Str("arn:aws:logs:us-east-1:123456789012:log-group:x".into()),
        );
        assert!(CreateFlowLogs::destination(&p).is_err());
        p.insert(
            "log_destination".into(),
            Value::Str("arn:aws:s3:::b/vpc".into()),
        );
        assert!(CreateFlowLogs::destination(&p).is_ok());
    }

    #[test]
    fn compliance_is_recomputed_from_the_ingress_rules() {
        let state = json!({
            "group_id": "sg-1", "group_name": "web", "vpc_id": "vpc-1",
            "ingress": [rule("tcp", 22, 22, "0.0.0.0/0")], "offending": [],
        });
        let mut p = Params::new();
        p.insert("group_id".into(), Value::Str("sg-1".into()));
        p.insert("ports".into(), Value::IntList(vec![22]));
        p.insert("cidrs".into(), Value::StrList(vec!["0.0.0.0/0".into()]));
        let st = RevokeOpenIngress::state(&p, &state).unwrap();
        assert_eq!(st.offending.len(), 1);
        let call = RevokeOpenIngress::revoke_call(&st).unwrap().unwrap();
        assert_eq!(call.params["security_group_rule_ids"], json!(["sgr-1"]));
    }
}
