//! Operator parameters: `{ config = "name" }` in a step takes its value from the fleet
//! config's `[parameters]`, else the action's default, else a per-finding error.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::Utc;
use redress_playbooks::actions::Value;
use redress_playbooks::finding::{Compliance, Finding, Resource, Source};
use redress_playbooks::ids::{Checked, IdKind};
use redress_playbooks::playbook::{Parameters, RenderError, load_sources};

fn playbook(ports: &str) -> String {
    format!(
        r#"id = "p"
title = "t"
description = "d"
risk = "high"
[match]
config_rules = ["restricted-ssh"]
[[steps]]
action = "ec2.revoke_open_ingress"
group_id = "{{{{ resource.id }}}}"
ports = {ports}
cidrs = {{ config = "open_cidrs" }}
"#
    )
}

fn finding() -> Finding {
    Finding {
        source: Source::Config,
        kind: "restricted-ssh".into(),
        account: Checked::new(IdKind::AccountId, "111122223333").unwrap(),
        region: Checked::new(IdKind::Region, "us-east-1").unwrap(),
        partition: Checked::new(IdKind::Partition, "aws").unwrap(),
        resource: Resource {
            kind: "AWS::EC2::SecurityGroup".into(),
            id: "sg-0b7e21c4d9a3f5816".into(),
            arn: None,
        },
        severity: None,
        compliance: Compliance::NonCompliant,
        event_id: "e".into(),
        finding_id: None,
        time: Utc::now(),
        tags: BTreeMap::new(),
        detail: serde_json::json!({}),
        ignore: None,
    }
}

fn load(text: &str) -> redress_playbooks::playbook::Playbook {
    let (catalog, diags) = load_sources(&[(PathBuf::from("catalog/p.toml"), text.to_owned())]);
    assert!(diags.is_empty(), "{diags:?}");
    catalog.playbooks.into_iter().next().unwrap()
}

#[test]
fn operator_value_wins_then_the_action_default() {
    let p = load(&playbook("{ config = \"authorized_ports\" }"));
    let mut params = Parameters::new();
    // Nothing set: both fall back to the action's defaults.
    let steps = p.render(&finding(), &params).unwrap();
    assert_eq!(
        steps[0].params["cidrs"],
        Value::StrList(vec!["0.0.0.0/0".into(), "::/0".into()])
    );
    assert!(matches!(&steps[0].params["ports"], Value::IntList(v) if v.contains(&22)));
    params.insert(
        "authorized_ports".into(),
        toml::Value::Array(vec![toml::Value::Integer(8443)]),
    );
    let steps = p.render(&finding(), &params).unwrap();
    assert_eq!(steps[0].params["ports"], Value::IntList(vec![8443]));
}

#[test]
fn an_ill_typed_operator_value_is_a_per_finding_error_naming_it() {
    let p = load(&playbook("{ config = \"authorized_ports\" }"));
    let mut params = Parameters::new();
    params.insert("authorized_ports".into(), toml::Value::String("22".into()));
    let err = p.render(&finding(), &params).unwrap_err();
    assert!(matches!(err, RenderError::BadParameter { .. }));
    assert_eq!(
        err.to_string(),
        "step 1 (ec2.revoke_open_ingress), parameter `ports`: `[parameters] authorized_ports` must be a list of integers from 0 to 65535"
    );
}

#[test]
fn only_config_tables_with_snake_case_names_are_accepted() {
    for bad in [
        "{ config = \"Open-Ports\" }",
        "{ config = \"x\", default = 1 }",
        "{ from = \"x\" }",
    ] {
        let (_, diags) = load_sources(&[(PathBuf::from("catalog/p.toml"), playbook(bad))]);
        assert_eq!(diags.len(), 1, "{bad}: {diags:?}");
        assert!(
            diags[0]
                .message
                .contains("only `{ config = \"name\" }` is accepted"),
            "{}",
            diags[0]
        );
    }
}
