//! Each rule of the gate (DESIGN §5, invariants 2 and 6), on the shipped catalog.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Duration, Utc};
use redress_playbooks::actions::{ActionSpec, Category};
use redress_playbooks::config::Config;
use redress_playbooks::exceptions::Exception;
use redress_playbooks::finding::{Compliance, Finding, Resource, Source};
use redress_playbooks::gate::{Decision, decide};
use redress_playbooks::ids::{Checked, IdKind};
use redress_playbooks::playbook::{Catalog, Mode, Playbook, Step, load_catalog};

fn catalog() -> Catalog {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("catalog");
    let (catalog, diags) = load_catalog(&dir).unwrap();
    assert!(diags.is_empty(), "{diags:?}");
    catalog
}

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-06-01T12:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn finding(source: Source, kind: &str, resource_type: &str, id: &str) -> Finding {
    Finding {
        source,
        kind: kind.to_owned(),
        account: Checked::new(IdKind::AccountId, "111122223333").unwrap(),
        region: Checked::new(IdKind::Region, "us-east-1").unwrap(),
        partition: Checked::new(IdKind::Partition, "aws").unwrap(),
        resource: Resource {
            kind: resource_type.to_owned(),
            id: id.to_owned(),
            arn: (resource_type == "AWS::S3::Bucket").then(|| format!("arn:aws:s3:::{id}")),
        },
        severity: None,
        compliance: Compliance::NonCompliant,
        event_id: "e-1".to_owned(),
        finding_id: None,
        time: now(),
        tags: BTreeMap::new(),
        detail: serde_json::json!({}),
        ignore: None,
    }
}

fn bucket() -> Finding {
    finding(
        Source::Config,
        "s3-bucket-level-public-access-prohibited",
        "AWS::S3::Bucket",
        "acme-prod-invoice-exports",
    )
}

fn account() -> Finding {
    finding(
        Source::Config,
        "ec2-ebs-encryption-by-default",
        "AWS::::Account",
        "111122223333",
    )
}

fn exception(resource: &str, playbook: &str, expires: DateTime<Utc>) -> Exception {
    Exception {
        resource: resource.to_owned(),
        playbook: playbook.to_owned(),
        account: None,
        owner: "web@acme.example".to_owned(),
        justification: "public website, SEC-1234".to_owned(),
        expires,
        at: (1, 1),
    }
}

fn decide_default(
    f: &Finding,
    p: Option<&Playbook>,
    exceptions: &[Exception],
) -> (Decision, String) {
    let g = decide(f, p, &Config::default(), Mode::Enforce, exceptions, now());
    (g.decision, g.reason)
}

#[test]
fn low_risk_config_playbook_runs_automatically() {
    let c = catalog();
    let (d, why) = decide_default(&account(), c.get("ebs-default-encryption"), &[]);
    assert_eq!(d, Decision::Auto);
    assert_eq!(
        why,
        "low risk, and every step is reversible configuration or forensic work"
    );
}

#[test]
fn exposure_step_needs_approval() {
    let c = catalog();
    let (d, why) = decide_default(&bucket(), c.get("s3-block-public-access"), &[]);
    assert_eq!(d, Decision::Approval);
    assert_eq!(
        why,
        "needs approval: the playbook's risk is high and step 1 (s3.put_public_access_block) is of category exposure and step 2 (s3.remove_public_acl_grants) is of category exposure"
    );
}

#[test]
fn iam_step_needs_approval_even_when_the_playbook_says_low_risk() {
    let c = catalog();
    let mut p = c.get("iam-deactivate-stale-access-keys").unwrap().clone();
    p.risk = redress_playbooks::playbook::Risk::Low;
    let f = finding(
        Source::Config,
        "iam-user-unused-credentials-check",
        "AWS::IAM::User",
        "AIDAQ3EGRS4EXAMPLE7K2",
    );
    let (d, why) = decide_default(&f, Some(&p), &[]);
    assert_eq!(d, Decision::Approval);
    assert_eq!(
        why,
        "needs approval: step 1 (iam.deactivate_stale_access_keys) is of category iam"
    );
}

#[test]
fn operator_opt_in_lifts_approval_and_says_so() {
    let c = catalog();
    let mut config = Config::default();
    config.gate.auto = vec!["s3-block-public-access".to_owned()];
    let g = decide(
        &bucket(),
        c.get("s3-block-public-access"),
        &config,
        Mode::Enforce,
        &[],
        now(),
    );
    assert_eq!(g.decision, Decision::Auto);
    assert!(g.operator_opt_in);
    assert!(
        g.reason.starts_with(
            "the operator lets `s3-block-public-access` run without approval ([gate] auto)"
        ),
        "{}",
        g.reason
    );
    // The opt-in is per playbook: another exposure playbook still needs approval.
    let sg = finding(
        Source::Config,
        "restricted-ssh",
        "AWS::EC2::SecurityGroup",
        "sg-0b7e21c4d9a3f5816",
    );
    let g = decide(
        &sg,
        c.get("sg-revoke-open-admin-ports"),
        &config,
        Mode::Enforce,
        &[],
        now(),
    );
    assert_eq!(g.decision, Decision::Approval);
    assert!(!g.operator_opt_in);
}

static IRREVERSIBLE: ActionSpec = ActionSpec {
    id: "iam.delete_login_profile",
    category: Category::Config,
    reversible: false,
    resource_types: &["AWS::IAM::User"],
    params: &[],
    permissions: &["iam:DeleteLoginProfile"],
    summary: "test action",
    describe: |_| String::from("delete the console password"),
};

#[test]
fn irreversible_step_needs_approval_even_with_opt_in() {
    let c = catalog();
    let mut p = c.get("ebs-default-encryption").unwrap().clone();
    p.steps = vec![Step {
        action: &IRREVERSIBLE,
        params: BTreeMap::new(),
    }];
    let mut config = Config::default();
    config.gate.auto = vec![p.id.clone()];
    let g = decide(&account(), Some(&p), &config, Mode::Enforce, &[], now());
    assert_eq!(g.decision, Decision::Approval);
    assert_eq!(
        g.reason,
        "needs approval: step 1 (iam.delete_login_profile) cannot be reverted"
    );
}

#[test]
fn fleet_dry_run_turns_every_action_into_dry_run() {
    let c = catalog();
    for (f, id, would) in [
        (account(), "ebs-default-encryption", Decision::Auto),
        (bucket(), "s3-block-public-access", Decision::Approval),
    ] {
        let g = decide(&f, c.get(id), &Config::default(), Mode::DryRun, &[], now());
        assert_eq!(g.decision, Decision::DryRun, "{id}");
        assert_eq!(g.would_be, Some(would), "{id}");
        assert!(
            g.reason
                .starts_with("dry-run: the fleet runs in dry-run mode; otherwise "),
            "{}",
            g.reason
        );
    }
}

#[test]
fn playbook_dry_run_shadows_only_that_playbook() {
    let c = catalog();
    let mut p = c.get("ebs-default-encryption").unwrap().clone();
    p.mode = Some(Mode::DryRun);
    let (d, why) = decide_default(&account(), Some(&p), &[]);
    assert_eq!(d, Decision::DryRun);
    assert!(
        why.starts_with("dry-run: the playbook is in dry-run mode; otherwise auto"),
        "{why}"
    );
    let (d, _) = decide_default(&account(), c.get("ebs-default-encryption"), &[]);
    assert_eq!(d, Decision::Auto);
}

#[test]
fn active_exception_exempts_by_id_or_arn() {
    let c = catalog();
    let p = c.get("s3-block-public-access");
    let later = now() + Duration::days(30);
    for resource in [
        "acme-prod-invoice-exports",
        "arn:aws:s3:::acme-prod-invoice-exports",
    ] {
        let (d, why) = decide_default(
            &bucket(),
            p,
            &[exception(resource, "s3-block-public-access", later)],
        );
        assert_eq!(d, Decision::Exempt, "{resource}");
        assert_eq!(
            why,
            format!(
                "exception for {resource} from `s3-block-public-access` until 2026-07-01T12:00:00+00:00, owner web@acme.example: public website, SEC-1234"
            )
        );
    }
    let (d, _) = decide_default(
        &bucket(),
        p,
        &[exception("acme-prod-invoice-exports", "*", later)],
    );
    assert_eq!(d, Decision::Exempt);
}

#[test]
fn exception_for_another_playbook_resource_or_account_does_not_exempt() {
    let c = catalog();
    let p = c.get("s3-block-public-access");
    let later = now() + Duration::days(30);
    let mut other_account = exception("acme-prod-invoice-exports", "*", later);
    other_account.account = Some("444455556666".to_owned());
    for e in [
        exception("acme-prod-invoice-exports", "s3-default-encryption", later),
        exception("another-bucket", "s3-block-public-access", later),
        other_account,
    ] {
        let (d, _) = decide_default(&bucket(), p, &[e]);
        assert_eq!(d, Decision::Approval);
    }
}

#[test]
fn expired_exception_no_longer_exempts_and_the_reason_says_so() {
    let c = catalog();
    let e = exception("acme-prod-invoice-exports", "s3-block-public-access", now());
    let (d, why) = decide_default(&bucket(), c.get("s3-block-public-access"), &[e]);
    assert_eq!(d, Decision::Approval);
    assert!(
        why.ends_with("; an exception for acme-prod-invoice-exports (owner web@acme.example) expired at 2026-06-01T12:00:00+00:00 and no longer exempts it"),
        "{why}"
    );
}

#[test]
fn ignored_findings_and_unmatched_findings() {
    let c = catalog();
    let mut f = bucket();
    f.ignore = Some("the resource is COMPLIANT".to_owned());
    assert_eq!(
        decide_default(&f, c.get("s3-block-public-access"), &[]),
        (Decision::Ignore, "the resource is COMPLIANT".to_owned())
    );
    let f = finding(Source::Securityhub, "KMS.4", "AWS::KMS::Key", "abcd");
    assert_eq!(
        decide_default(&f, None, &[]),
        (
            Decision::NoMatch,
            "no playbook handles securityhub `KMS.4` on AWS::KMS::Key".to_owned()
        )
    );
}

#[test]
fn exemption_wins_over_dry_run() {
    let c = catalog();
    let e = exception(
        "111122223333",
        "ebs-default-encryption",
        now() + Duration::hours(1),
    );
    let g = decide(
        &account(),
        c.get("ebs-default-encryption"),
        &Config::default(),
        Mode::DryRun,
        &[e],
        now(),
    );
    assert_eq!(g.decision, Decision::Exempt);
}
