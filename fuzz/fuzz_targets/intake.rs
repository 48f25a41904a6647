//! Fuzz target: any bytes given to `intake::decode` give a value (findings or an error),
//! never a panic, and what it gives keeps intake's promises.

#![no_main]

use libfuzzer_sys::fuzz_target;
use redress_playbooks::finding::Compliance;
use redress_playbooks::intake::decode;

fuzz_target!(|data: &[u8]| {
    match decode(data) {
        Err(e) => {
            let msg = e.to_string();
            assert!(!msg.contains('\n'), "error message spans lines: {msg:?}");
        }
        Ok(decoded) => {
            assert!(!decoded.findings.is_empty() || decoded.ignored.is_some());
            for f in &decoded.findings {
                // Only a non-compliant finding may be left actionable.
                if f.ignore.is_none() {
                    assert_eq!(f.compliance, Compliance::NonCompliant, "{f:?}");
                }
            }
        }
    }
});
