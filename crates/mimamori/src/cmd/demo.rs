//! `mimamori demo`: everything needed to see mimamori work in a minute: a fresh
//! data directory, a demo manager account with a printed password, and the
//! built-in test-pattern camera recording through the normal segment writer.

use std::path::PathBuf;
use std::process::ExitCode;

use base64::Engine;
use mimamori_governance::Actor;
use mimamori_governance::input::CameraName;
use rand::RngCore;

use crate::datadir::{CATALOG_FILE, Installation, refused};

pub const DEMO_USER: &str = "admin";
pub const PASSWORD_FILE: &str = "demo-admin-password.txt";

#[derive(clap::Args)]
pub struct Args {
    /// Data directory (default: a new temporary one). An existing demo directory is reused.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Policy preset for the demo.
    #[arg(long, default_value = super::init::DEFAULT_PRESET)]
    pub preset: String,
}

pub async fn run(a: Args) -> anyhow::Result<ExitCode> {
    let data = match a.data {
        Some(d) => d,
        None => {
            let mut b = [0u8; 6];
            rand::rng().fill_bytes(&mut b);
            std::env::temp_dir().join(format!(
                "mimamori-demo-{}",
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .encode(b)
                    .to_lowercase()
            ))
        }
    };
    let password_path = data.join(PASSWORD_FILE);
    if !data.join(CATALOG_FILE).exists() {
        let mut b = [0u8; 12];
        rand::rng().fill_bytes(&mut b);
        let password = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
        super::init::initialize(&data, &a.preset, DEMO_USER, &password).await?;
        std::fs::write(&password_path, format!("{password}\n"))?;
        let inst = Installation::open(&data).await?;
        let name = CameraName::parse("テストパターン").map_err(refused)?;
        inst.gov
            .camera_add_test_pattern(&Actor::console(), name)
            .await
            .map_err(refused)?;
        inst.dir.catalog.close().await;
    }
    let password = std::fs::read_to_string(&password_path).unwrap_or_default();
    let password = password.trim();
    let listen = a.listen.clone();
    let data_shown = data.display().to_string();
    let pw = password.to_string();
    super::serve::serve(&data, Some(&listen), move |addr| {
        // A closed stdout (the reader went away) must not stop the server.
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(
            out,
            "\n  見守り mimamori demo\n  ブラウザで開く / open:  http://{addr}/\n  ユーザー名 / user:      {DEMO_USER}\n  \
             パスワード / password:  {pw}\n  データ / data dir:      {data_shown}\n  停止 / stop:            Ctrl+C\n"
        );
        let _ = out.flush();
    })
    .await
}
