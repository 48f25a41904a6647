//! Running the `redress` binary as an operator would.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use crate::moto::Moto;

/// The workspace root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The `redress` binary of this workspace, built once per test process (a test binary of
/// another package is not rebuilt with it, so a stale binary would otherwise be tested).
pub fn binary() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let status = Command::new(env!("CARGO"))
                .args(["build", "-q", "-p", "redress-workers", "--bin", "redress"])
                .current_dir(repo())
                .status();
            assert!(
                status.is_ok_and(|s| s.success()),
                "cannot build the redress binary"
            );
            let exe = std::env::current_exe().unwrap_or_default();
            // target/debug/deps/<test> → target/debug/redress
            exe.parent()
                .and_then(Path::parent)
                .map(|d| d.join("redress"))
                .unwrap_or_default()
        })
        .clone()
}

/// A `redress` command with the emulator's environment.
pub fn command(moto: &Moto, config: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(binary());
    cmd.arg("--config")
        .arg(config)
        .args(args)
        .current_dir(repo());
    for (k, v) in moto.env() {
        cmd.env(k, v);
    }
    cmd.env_remove("REDRESS_CONFIG");
    cmd
}

/// Runs `redress` to completion.
pub fn run(moto: &Moto, config: &Path, args: &[&str]) -> Output {
    command(moto, config, args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run redress: {e}"))
}
