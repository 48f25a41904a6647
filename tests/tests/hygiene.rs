//! Secrets never reach logs or evidence (issue 6): a worker run at debug level, with a Slack
//! token, a signing secret and AWS credentials in its environment, held and fixed findings,
//! and an approval request posted, leaves none of them in its output or its store.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use redress_tests::events::bucket_unencrypted;
use redress_tests::slack::SlackStandIn;
use redress_tests::world::World;

const BOT_TOKEN: &str = "xoxb-hygiene-0123456789-abcdefSECRET";
const SIGNING_SECRET: &str = "hygiene-signing-secret-7f3e9a";
const AWS_SECRET: &str = "hygieneAwsSecretKey/0123456789abcdefSECRET";

fn files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files(&p, out);
        } else {
            out.push(p);
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn no_secret_reaches_logs_or_the_store() {
    let slack = SlackStandIn::start_with_token(BOT_TOKEN);
    let mut w = World::new(&format!(
        "[breaker]\nmax_auto_per_account = 1\n[slack]\napi_url = {:?}\ndefault_channel = \"C0SECURITY\"\n[approvals]\napprovers = [\"U0APPROVER1\"]\n",
        slack.api_url()
    ))
    .await;
    w.env = vec![
        ("SLACK_BOT_TOKEN".to_owned(), BOT_TOKEN.to_owned()),
        ("SLACK_SIGNING_SECRET".to_owned(), SIGNING_SECRET.to_owned()),
        ("RUST_LOG".to_owned(), "debug".to_owned()),
    ];
    for b in ["acme-hygiene-1", "acme-hygiene-2"] {
        w.unencrypted_bucket(b).await;
        w.send(&bucket_unencrypted(&format!("e-{b}"), b)).await;
    }
    let out = w
        .command(&["worker", "--until-idle", "2"])
        // moto takes any key; this one is only here to be looked for.
        .env("AWS_SECRET_ACCESS_KEY", AWS_SECRET)
        .output()
        .unwrap();
    assert!(out.status.success());

    let records = w.records();
    let outcomes: Vec<&str> = records
        .iter()
        .map(|r| r["outcome"].as_str().unwrap())
        .collect();
    assert!(
        outcomes.contains(&"fixed") && outcomes.contains(&"held"),
        "{outcomes:?}"
    );
    assert!(!slack.posts().is_empty(), "the token was used");
    let mut texts = vec![
        ("stderr", String::from_utf8_lossy(&out.stderr).into_owned()),
        ("stdout", String::from_utf8_lossy(&out.stdout).into_owned()),
    ];
    let mut stored = Vec::new();
    files(&w.store(), &mut stored);
    assert!(stored.len() > 5, "{stored:?}");
    for p in &stored {
        texts.push((
            "store",
            String::from_utf8_lossy(&std::fs::read(p).unwrap()).into_owned(),
        ));
    }
    assert!(
        texts[0].1.contains("DEBUG"),
        "the run logged at debug level"
    );
    for (what, text) in &texts {
        for secret in [BOT_TOKEN, SIGNING_SECRET, AWS_SECRET] {
            assert!(!text.contains(secret), "a secret in {what}");
        }
    }
}
