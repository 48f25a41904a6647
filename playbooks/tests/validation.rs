//! Validation errors, with their locations, as `redress check` prints them (snapshots).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use redress_playbooks::playbook::load_sources;

/// Loads `(file name, text)` pairs from a pretend `catalog/` folder (unless the name has a
/// folder of its own) and renders every diagnostic, one per line (help lines included).
fn check(files: &[(&str, &str)]) -> String {
    let files: Vec<(PathBuf, String)> = files
        .iter()
        .map(|(name, text)| {
            let path = if name.contains('/') {
                PathBuf::from(name)
            } else {
                PathBuf::from("catalog").join(name)
            };
            (path, (*text).to_owned())
        })
        .collect();
    let (_, diags) = load_sources(&files);
    diags
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

const HEADER: &str = r#"id = "demo"
title = "Demo"
description = "A demo."
risk = "low"
"#;

fn demo(rest: &str) -> String {
    format!("{HEADER}{rest}")
}

#[test]
fn valid_playbook_has_no_diagnostics() {
    let text = demo(
        r#"
[match]
resource_type = "AWS::S3::Bucket"
config_rules = ["s3-bucket-server-side-encryption-enabled"]

[[steps]]
action = "s3.put_default_encryption"
bucket = "{{ resource.id }}"
"#,
    );
    assert_eq!(check(&[("demo.toml", &text)]), "");
}

#[test]
fn every_error_in_a_file_is_reported_at_its_place() {
    let text = demo(
        r#"
[match]
resource_type = "AWS::S3::Buckett"
config_rules = ["s3-bucket-server-side-encryption-enabled"]
securityhub_controls = ["S3-4"]

[match.where]
severity = { min = 8, max = 7 }
"/service/resourceRole" = { one_off = ["ACTOR"] }

[[steps]]
action = "s3.put_default_encryptoin"
bucket = "{{ resource.id }}"

[[steps]]
action = "s3.put_default_encryption"
bucket = "{{ resource.idd }}"
algorithm = "AES128"
bucket_key_enabled = "yes"
kms_key = "x"

[[steps]]
action = "ec2.revoke_open_ingress"
ports = [22, 70000]
"#,
    );
    insta::assert_snapshot!(check(&[("demo.toml", &text)]));
}

#[test]
fn serde_errors_carry_their_location() {
    let unknown_key = demo("priorty = 2\n[match]\nconfig_rules = [\"x\"]\n");
    let wrong_risk = HEADER.replace("risk = \"low\"", "risk = \"medium\"");
    let bad_toml = demo("[match\n");
    insta::assert_snapshot!(check(&[
        ("demo.toml", &unknown_key),
        ("risk.toml", &wrong_risk.replace("\"demo\"", "\"risk\"")),
        ("syntax.toml", &bad_toml.replace("\"demo\"", "\"syntax\"")),
    ]));
}

#[test]
fn matches_that_can_never_match_are_errors() {
    let nothing = demo(
        "[match]\nresource_type = \"AWS::S3::Bucket\"\n\n[[steps]]\naction = \"ec2.enable_ebs_encryption_by_default\"\n",
    );
    let wrong_resource = demo(
        r#"
[match]
resource_type = "AWS::S3::Bucket"
guardduty_types = ["UnauthorizedAccess:IAMUser/TorIPCaller", "Policy:S3/BucketPublicAccessGranted"]

[match.where]
"/service/resourceRole" = { equals = "ACTOR", one_of = ["TARGET"] }
severity = { min = 70 }

[[steps]]
action = "s3.put_public_access_block"
bucket = "{{ resource.id }}"
"#,
    )
    .replace("\"demo\"", "\"gd\"");
    insta::assert_snapshot!(check(&[
        ("demo.toml", &nothing),
        ("gd.toml", &wrong_resource)
    ]));
}

#[test]
fn literal_identifiers_are_checked_at_load_time() {
    let text = demo(
        r#"
[match]
config_rules = ["s3-bucket-server-side-encryption-enabled"]

[[steps]]
action = "s3.put_default_encryption"
bucket = "Invoices_2026"

[[steps]]
action = "iam.deactivate_access_key"
user = "{{ detail:/resource/accessKeyDetails/userName }}"
access_key_id = "ASIAQ3EGRS7EXAMPLE42"
"#,
    );
    insta::assert_snapshot!(check(&[("demo.toml", &text)]));
}

fn playbook(id: &str, priority: i64, condition: &str) -> String {
    format!(
        r#"id = "{id}"
title = "t"
description = "d"
risk = "high"
priority = {priority}

[match]
resource_type = "AWS::IAM::AccessKey"
guardduty_types = ["UnauthorizedAccess:IAMUser/TorIPCaller"]

[match.where]
{condition}

[[steps]]
action = "iam.revoke_role_sessions"
role = "{{{{ detail:/resource/accessKeyDetails/userName }}}}"
"#
    )
}

#[test]
fn overlapping_playbooks_with_equal_priority_are_an_error() {
    let a = playbook("a", 0, "severity = { min = 5 }");
    let b = playbook("b", 0, "severity = { max = 6 }");
    insta::assert_snapshot!(check(&[("a.toml", &a), ("b.toml", &b)]));
}

#[test]
fn exclusive_conditions_or_different_priorities_do_not_overlap() {
    let user = playbook(
        "a",
        0,
        "\"/resource/accessKeyDetails/userType\" = \"IAMUser\"",
    );
    let role = playbook(
        "b",
        0,
        "\"/resource/accessKeyDetails/userType\" = \"AssumedRole\"",
    );
    assert_eq!(check(&[("a.toml", &user), ("b.toml", &role)]), "");
    let high = playbook("a", 0, "severity = { min = 7 }");
    let low = playbook("b", 0, "severity = { max = 6.9 }");
    assert_eq!(check(&[("a.toml", &high), ("b.toml", &low)]), "");
    let a = playbook("a", 10, "severity = { min = 1 }");
    let b = playbook("b", 0, "severity = { min = 1 }");
    assert_eq!(check(&[("a.toml", &a), ("b.toml", &b)]), "");
}

#[test]
fn duplicate_ids_and_misnamed_files_are_errors() {
    let a = playbook("a", 0, "severity = { min = 7 }");
    let a_again = playbook("a", 1, "severity = { max = 2 }");
    // Two folders given to `check` can hold files of the same name.
    insta::assert_snapshot!(check(&[
        ("catalog/a.toml", &a),
        ("extra/a.toml", &a_again),
        ("catalog/b.toml", &a_again),
    ]));
}

#[test]
fn warnings_do_not_hide_a_valid_playbook() {
    let text = demo(
        r#"
[match]
securityhub_controls = ["IAM.8", "IAM.8"]

[[steps]]
action = "iam.deactivate_stale_access_keys"
user = "{{ resource.id }}"

[verify]
config_reevaluate = true
"#,
    );
    let files = vec![(PathBuf::from("catalog/demo.toml"), text)];
    let (catalog, diags) = load_sources(&files);
    assert_eq!(catalog.playbooks.len(), 1);
    insta::assert_snapshot!(
        diags
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    );
}
