//! Fuzz target: any text loaded as a playbook file gives a playbook or diagnostics, never a
//! panic; every diagnostic points inside the file (line ≥ 1) and names a message.

#![no_main]

use std::path::PathBuf;

use libfuzzer_sys::fuzz_target;
use redress_playbooks::playbook::load_sources;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let files = vec![(PathBuf::from("catalog/fuzz.toml"), text.to_owned())];
    let (catalog, diags) = load_sources(&files);
    for d in &diags {
        assert!(d.line >= 1 && d.col >= 1, "{d:?}");
        assert!(!d.message.is_empty());
    }
    // A file that loaded has no error.
    if !catalog.playbooks.is_empty() {
        assert!(!redress_playbooks::playbook::has_errors(&diags), "{diags:?}");
    }
});
