//! The `redress` binary as operators run it: exit codes, stdout, exact stderr.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn fixture(name: &str) -> PathBuf {
    repo().join("../shared/fixtures/events").join(name)
}

fn redress(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_redress"))
        .args(args)
        .current_dir(repo())
        .env_remove("REDRESS_CONFIG")
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

fn plans(o: &Output) -> Vec<Value> {
    stdout(o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn plan_json(event: &Path, extra: &[&str]) -> (Vec<Value>, Output) {
    let mut args = vec!["plan", "--json", "--event", event.to_str().unwrap()];
    args.extend_from_slice(extra);
    let o = redress(&args);
    (plans(&o), o)
}

/// The decisions the fixtures' README promises under the default config.
#[test]
fn fixture_events_get_the_documented_decisions() {
    for (file, decision, playbook) in [
        (
            "config-01-s3-bucket-level-public-access-prohibited-noncompliant.json",
            "approval",
            Some("s3-block-public-access"),
        ),
        (
            "config-03-restricted-ssh-noncompliant.json",
            "approval",
            Some("sg-revoke-open-admin-ports"),
        ),
        (
            "config-05-iam-user-unused-credentials-check-noncompliant.json",
            "approval",
            Some("iam-deactivate-stale-access-keys"),
        ),
        (
            "config-06-ec2-ebs-encryption-by-default-noncompliant-first-eval.json",
            "auto",
            Some("ebs-default-encryption"),
        ),
        (
            "config-08-s3-bucket-level-public-access-prohibited-compliant-transition.json",
            "ignore",
            None,
        ),
        (
            "gd-02-iamuser-maliciousipcaller-custom.json",
            "approval",
            Some("iam-deactivate-exposed-access-key"),
        ),
        (
            "gd-04-ec2-bitcointool-b-dns.json",
            "approval",
            Some("ec2-isolate-instance"),
        ),
        ("gd-09-sample-finding.json", "ignore", None),
        (
            "sh-01-s3.8-block-public-access-failed.json",
            "approval",
            Some("s3-block-public-access"),
        ),
        (
            "env-01-sns-wrapped-eventbridge-config-s3-bpa-noncompliant.json",
            "approval",
            Some("s3-block-public-access"),
        ),
        ("bad-04-unknown-source.json", "ignore", None),
    ] {
        let (p, o) = plan_json(&fixture(file), &[]);
        assert!(o.status.success(), "{file}: {}", stderr(&o));
        assert_eq!(p.len(), 1, "{file}");
        assert_eq!(p[0]["decision"], decision, "{file}: {}", p[0]);
        assert_eq!(p[0]["playbook"].as_str(), playbook, "{file}");
        assert!(!p[0]["reason"].as_str().unwrap().is_empty(), "{file}");
        let acts = decision == "approval" || decision == "auto";
        assert_eq!(
            !p[0]["steps"].as_array().unwrap().is_empty(),
            acts,
            "{file}"
        );
    }
}

#[test]
fn plan_json_has_the_contract_keys() {
    let (p, _) = plan_json(
        &fixture("config-06-ec2-ebs-encryption-by-default-noncompliant-first-eval.json"),
        &[],
    );
    insta::assert_json_snapshot!(p[0]);
    let (p, _) = plan_json(&fixture("bad-04-unknown-source.json"), &[]);
    assert_eq!(p[0]["finding"], Value::Null);
}

#[test]
fn human_plan_explains_what_why_and_how() {
    let o = redress(&[
        "plan",
        "--event",
        fixture("gd-02-iamuser-maliciousipcaller-custom.json")
            .to_str()
            .unwrap(),
    ]);
    assert!(o.status.success());
    insta::assert_snapshot!(stdout(&o));
}

#[test]
fn truncated_event_exits_2_with_one_line() {
    let o = redress(&[
        "plan",
        "--event",
        fixture("bad-01-truncated.json").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty());
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("redress: event ") && err.trim_end().ends_with("bad-01-truncated.json: the message body is not JSON: EOF while parsing a string at line 50 column 15"),
        "{err}"
    );
}

#[test]
fn plan_reads_stdin_with_dash() {
    let body = std::fs::read(fixture("config-03-restricted-ssh-noncompliant.json")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_redress"))
        .args(["plan", "--json", "--event", "-"])
        .current_dir(repo())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&body).unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(plans(&o)[0]["playbook"], "sg-revoke-open-admin-ports");
}

#[test]
fn empty_and_missing_events_are_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.json");
    std::fs::write(&empty, "").unwrap();
    let o = redress(&["plan", "--event", empty.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).ends_with("empty.json: the message body is empty\n"),
        "{}",
        stderr(&o)
    );
    let o = redress(&["plan", "--event", "no-such-file.json"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        "redress: cannot read event file no-such-file.json: No such file or directory (os error 2)\n"
    );
}

#[test]
fn check_passes_on_the_shipped_catalog() {
    let o = redress(&["check"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).starts_with("check passed: "), "{}", stdout(&o));
    // Warnings only (an operator parameter the built-in config does not set).
    for line in stderr(&o).lines() {
        assert!(
            line.contains(": warning: ") || line.starts_with("  = help"),
            "{line}"
        );
    }
}

#[test]
fn check_fails_with_located_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.toml");
    std::fs::write(
        &path,
        "id = \"broken\"\ntitle = \"t\"\ndescription = \"d\"\nrisk = \"high\"\n[match]\nconfig_rules = [\"restricted-ssh\"]\n[[steps]]\naction = \"ec2.revoke_open_ingres\"\n",
    )
    .unwrap();
    let o = redress(&["check", dir.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        format!(
            "{}:8:10: unknown action `ec2.revoke_open_ingres`\n  = help: did you mean `ec2.revoke_open_ingress`?\n",
            path.display()
        )
    );
    assert!(
        stdout(&o).starts_with("check failed: 1 error(s), 0 warning(s)"),
        "{}",
        stdout(&o)
    );
}

fn write_config(dir: &Path, body: &str) -> PathBuf {
    let path = dir.join("redress.toml");
    let catalog = repo().join("playbooks/catalog");
    std::fs::write(
        &path,
        format!("playbooks = {:?}\n{body}", catalog.to_str().unwrap()),
    )
    .unwrap();
    path
}

#[test]
fn operator_opt_in_and_dry_run_come_from_the_config() {
    let dir = tempfile::tempdir().unwrap();
    let event = fixture("config-01-s3-bucket-level-public-access-prohibited-noncompliant.json");
    let cfg = write_config(dir.path(), "[gate]\nauto = [\"s3-block-public-access\"]\n");
    let (p, _) = plan_json(&event, &["--config", cfg.to_str().unwrap()]);
    assert_eq!(p[0]["decision"], "auto");
    assert_eq!(p[0]["operator_opt_in"], true);
    let cfg = write_config(dir.path(), "mode = \"dry-run\"\n");
    let (p, _) = plan_json(&event, &["--config", cfg.to_str().unwrap()]);
    assert_eq!(p[0]["decision"], "dry-run");
    assert_eq!(p[0]["would_be"], "approval");
    assert_eq!(
        p[0]["steps"].as_array().unwrap().len(),
        2,
        "block public access, then the public ACL grants"
    );
}

#[test]
fn exceptions_exempt_until_they_expire() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("exceptions.toml"),
        "[[exception]]\nresource = \"acme-prod-invoice-exports\"\nplaybook = \"s3-block-public-access\"\nowner = \"finance-eng@acme.example\"\njustification = \"partner download, FIN-88\"\nexpires = 2026-04-01\n",
    )
    .unwrap();
    let cfg = write_config(dir.path(), "exceptions = \"exceptions.toml\"\n");
    let event = fixture("config-01-s3-bucket-level-public-access-prohibited-noncompliant.json");
    let before = [
        "--config",
        cfg.to_str().unwrap(),
        "--at",
        "2026-03-14T09:00:00Z",
    ];
    let (p, o) = plan_json(&event, &before);
    assert_eq!(p[0]["decision"], "exempt", "{}", stderr(&o));
    assert_eq!(stderr(&o), "");
    let after = [
        "--config",
        cfg.to_str().unwrap(),
        "--at",
        "2026-04-02T00:00:00Z",
    ];
    let (p, o) = plan_json(&event, &after);
    assert_eq!(p[0]["decision"], "approval");
    assert!(
        p[0]["reason"]
            .as_str()
            .unwrap()
            .contains("expired at 2026-04-01T00:00:00+00:00 and no longer exempts it")
    );
    // The expired entry is reported once on stderr too, with its place.
    assert!(
        stderr(&o).contains(
            "exceptions.toml:6:11: warning: the exception for `acme-prod-invoice-exports`"
        ),
        "{}",
        stderr(&o)
    );
}

#[test]
fn bad_config_is_bad_input_naming_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        dir.path(),
        "[queue]\nurl = \"https://sqs.us-east-1.amazonaws.com/1/q\"\nvisibility = 30\n",
    );
    let (_, o) = plan_json(
        &fixture("config-03-restricted-ssh-noncompliant.json"),
        &["--config", cfg.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains(
            "redress.toml:4:1: unknown field `visibility`, expected one of `url`, `concurrency`"
        ),
        "{}",
        stderr(&o)
    );
}

#[test]
fn gate_opt_in_of_an_unknown_playbook_fails_check() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), "[gate]\nauto = [\"s3-block-public-acess\"]\n");
    let o = redress(&["check", "--config", cfg.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("redress.toml:3:9: `[gate] auto` names unknown playbook `s3-block-public-acess`\n  = help: did you mean `s3-block-public-access`?"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn iam_policy_lists_every_permission_of_the_catalog() {
    let o = redress(&["iam-policy"]);
    assert!(o.status.success());
    let policy: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let actions: Vec<&str> = policy["Statement"][0]["Action"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    for needed in [
        "s3:PutBucketPublicAccessBlock",
        "ec2:EnableEbsEncryptionByDefault",
        "iam:UpdateAccessKey",
        "config:StartConfigRulesEvaluation",
    ] {
        assert!(
            actions.contains(&needed),
            "{needed} missing from {actions:?}"
        );
    }
    assert!(!actions.iter().any(|a| a.contains('*')), "{actions:?}");
}

#[test]
fn example_deploy_config_passes_check() {
    let o = redress(&["check", "--config", "deploy/redress.example.toml"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}
