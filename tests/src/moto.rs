//! A `moto_server` process on 127.0.0.1 for tests.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};

/// The account moto gives the test credentials.
pub const ACCOUNT: &str = "123456789012";
pub const REGION: &str = "us-east-1";

/// A running `moto_server`, killed on drop.
pub struct Moto {
    child: Child,
    pub endpoint: String,
    pub port: u16,
}

/// Why the emulator could not be started.
#[derive(Debug)]
pub struct StartError(pub String);

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StartError {}

fn free_port() -> Result<u16, StartError> {
    let l =
        TcpListener::bind("127.0.0.1:0").map_err(|e| StartError(format!("no free port: {e}")))?;
    let port = l
        .local_addr()
        .map_err(|e| StartError(format!("no free port: {e}")))?
        .port();
    Ok(port)
}

impl Moto {
    /// Starts `moto_server` (from `pip install 'moto[server]'`) on a free loopback port and
    /// waits until it answers.
    pub fn start() -> Result<Moto, StartError> {
        let port = free_port()?;
        let python = std::env::var("REDRESS_PYTHON").unwrap_or_else(|_| "python3".to_owned());
        let child = Command::new(&python)
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()])
            .env("MOTO_ALLOW_NONEXISTENT_REGION", "true")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| {
                StartError(format!(
                    "cannot start moto_server with {python} -m moto.server: {e}; run `pip install 'moto[server]'`"
                ))
            })?;
        let mut moto = Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
            port,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(moto);
            }
            if let Ok(Some(status)) = moto.child.try_wait() {
                return Err(StartError(format!(
                    "moto_server exited with {status}; is moto[server] installed?"
                )));
            }
            if Instant::now() > deadline {
                return Err(StartError(
                    "moto_server did not answer within 30 s".to_owned(),
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Environment for a `redress` process talking to this emulator.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
            ("AWS_REGION", REGION.to_owned()),
            ("AWS_DEFAULT_REGION", REGION.to_owned()),
            // No profile files or instance metadata lookups in tests.
            ("AWS_CONFIG_FILE", "/dev/null".to_owned()),
            ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null".to_owned()),
            ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
        ]
    }

    /// An `SdkConfig` for this emulator with the test credentials.
    pub fn sdk_config(&self) -> SdkConfig {
        let creds = aws_sdk_sts::config::Credentials::new(
            "testing",
            "testing",
            None,
            None,
            "redress-tests",
        );
        SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(REGION))
            .endpoint_url(&self.endpoint)
            .credentials_provider(aws_sdk_sts::config::SharedCredentialsProvider::new(creds))
            .build()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
