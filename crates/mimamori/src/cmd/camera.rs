//! `mimamori camera add|list|remove`: camera registration from the command line,
//! through the same operations as the UI and the API (and logged the same way,
//! with the console as actor). A running server picks the change up within a few
//! seconds.

use std::path::PathBuf;
use std::process::ExitCode;

use mimamori_catalog::CameraSource;
use mimamori_governance::Actor;
use mimamori_governance::input::{CameraName, CameraText, RtspCamera};

use crate::datadir::{Installation, read_secret, refused};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Register a camera by RTSP URL.
    Add(AddArgs),
    /// List cameras.
    List(ListArgs),
    /// Remove a camera (its footage stays until retention erases it).
    Remove(RemoveArgs),
}

#[derive(clap::Args)]
pub struct AddArgs {
    #[arg(long)]
    pub data: PathBuf,
    #[arg(long)]
    pub name: String,
    /// rtsp://host[:port]/path of the main stream.
    #[arg(long, required_unless_present = "test_pattern")]
    pub url: Option<String>,
    /// rtsp:// URL of an optional sub stream.
    #[arg(long)]
    pub sub_url: Option<String>,
    #[arg(long)]
    pub username: Option<String>,
    /// File holding the camera's password (never given on the command line).
    #[arg(long)]
    pub password_file: Option<PathBuf>,
    /// Also record audio.
    #[arg(long)]
    pub record_audio: bool,
    /// Add the built-in test pattern instead of an RTSP camera.
    #[arg(long, conflicts_with = "url")]
    pub test_pattern: bool,
}

#[derive(clap::Args)]
pub struct ListArgs {
    #[arg(long)]
    pub data: PathBuf,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args)]
pub struct RemoveArgs {
    #[arg(long)]
    pub data: PathBuf,
    #[arg(long)]
    pub name: String,
}

pub async fn run(c: Command) -> anyhow::Result<ExitCode> {
    match c {
        Command::Add(a) => add(a).await,
        Command::List(a) => list(a).await,
        Command::Remove(a) => remove(a).await,
    }
}

async fn add(a: AddArgs) -> anyhow::Result<ExitCode> {
    let inst = Installation::open(&a.data).await?;
    let console = Actor::console();
    let cam = if a.test_pattern {
        let name = CameraName::parse(&a.name).map_err(refused)?;
        inst.gov.camera_add_test_pattern(&console, name).await
    } else {
        let password = a.password_file.as_deref().map(read_secret).transpose()?;
        let cam = RtspCamera::parse(&CameraText {
            name: &a.name,
            url: a.url.as_deref().unwrap_or_default(),
            sub_url: a.sub_url.as_deref(),
            username: a.username.as_deref(),
            password: password.as_deref(),
            record_audio: a.record_audio,
        })
        .map_err(refused)?;
        inst.gov.camera_add(&console, cam).await
    }
    .map_err(refused)?;
    println!("added camera {}: {}", cam.id, cam.name);
    Ok(ExitCode::SUCCESS)
}

async fn list(a: ListArgs) -> anyhow::Result<ExitCode> {
    let inst = Installation::open(&a.data).await?;
    let cams = inst.gov.cameras(&Actor::console()).await.map_err(refused)?;
    if a.json {
        let v: Vec<serde_json::Value> = cams
            .iter()
            .map(|c| {
                let (kind, url) = match &c.source {
                    CameraSource::TestPattern => ("test_pattern", None),
                    CameraSource::Rtsp { main_url, .. } => ("rtsp", Some(main_url.clone())),
                };
                serde_json::json!({"id": c.id.0, "name": c.name, "kind": kind, "url": url})
            })
            .collect();
        println!("{}", serde_json::Value::Array(v));
    } else {
        for c in &cams {
            let src = match &c.source {
                CameraSource::TestPattern => "test pattern".to_string(),
                CameraSource::Rtsp { main_url, .. } => main_url.clone(),
            };
            println!("{}\t{}\t{}", c.id, c.name, src);
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn remove(a: RemoveArgs) -> anyhow::Result<ExitCode> {
    let inst = Installation::open(&a.data).await?;
    let console = Actor::console();
    let cam = inst
        .gov
        .camera_by_name(&console, &a.name)
        .await
        .map_err(refused)?;
    let kept = inst
        .gov
        .camera_remove(&console, cam.id)
        .await
        .map_err(refused)?;
    if kept {
        println!(
            "removed camera {}: {} (its footage stays until retention erases it)",
            cam.id, a.name
        );
    } else {
        println!("removed camera {}: {}", cam.id, a.name);
    }
    Ok(ExitCode::SUCCESS)
}
