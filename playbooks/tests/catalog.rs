//! The shipped catalog loads cleanly and has what the starter catalog promises.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use redress_playbooks::actions::Category;
use redress_playbooks::playbook::load_catalog;

fn catalog_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("catalog")
}

#[test]
fn shipped_catalog_has_no_diagnostics() {
    let (catalog, diags) = load_catalog(&catalog_dir()).unwrap();
    let rendered: Vec<String> = diags.iter().map(ToString::to_string).collect();
    assert!(rendered.is_empty(), "{}", rendered.join("\n"));
    assert!(catalog.playbooks.len() >= 8);
}

#[test]
fn starter_playbooks_exist_with_their_categories() {
    let (catalog, _) = load_catalog(&catalog_dir()).unwrap();
    for (id, category) in [
        ("s3-block-public-access", Category::Exposure),
        ("s3-default-encryption", Category::Config),
        ("ebs-default-encryption", Category::Config),
        ("sg-revoke-open-admin-ports", Category::Exposure),
        ("iam-deactivate-stale-access-keys", Category::Iam),
        ("iam-deactivate-exposed-access-key", Category::Iam),
        ("iam-revoke-role-sessions", Category::Iam),
        ("ec2-isolate-instance", Category::Exposure),
    ] {
        let p = catalog
            .get(id)
            .unwrap_or_else(|| panic!("starter playbook {id} is missing"));
        assert_eq!(p.categories()[0], category, "{id}");
        assert!(p.reversible(), "{id}");
    }
}

#[test]
fn generated_reference_page_is_up_to_date() {
    let (catalog, _) = load_catalog(&catalog_dir()).unwrap();
    let want = redress_playbooks::reference::markdown(&catalog);
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "playbooks/README.md is stale: run `cargo run -q -p redress-workers -- catalog --markdown > playbooks/README.md`"
    );
}
