//! `mimamori camera add|list|remove`: camera registration from the command line.
//! A running server picks the change up within a few seconds.

use std::path::PathBuf;
use std::process::ExitCode;

use mimamori_base::{Clock, SystemClock};
use mimamori_catalog::{CameraSource, NewCamera};

use crate::datadir::{DataDir, read_secret};

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
    let dir = DataDir::open(&a.data).await?;
    let cam = if a.test_pattern {
        NewCamera {
            name: a.name.clone(),
            source: CameraSource::TestPattern,
            record_audio: false,
        }
    } else {
        let password = a.password_file.as_deref().map(read_secret).transpose()?;
        let body = mimamori_web::api::CameraBody {
            name: a.name.clone(),
            url: a.url.clone().unwrap_or_default(),
            sub_url: a.sub_url.clone(),
            username: a.username.clone(),
            password,
            record_audio: a.record_audio,
        };
        let cam = mimamori_web::api::validate_camera(body, None)
            .map_err(|e| anyhow::anyhow!("{} ({})", e.message, e.code))?;
        // The password is stored sealed with the master key.
        let config = crate::config::Config::load(&a.data)?;
        let (master, signing) = config.key_paths(&a.data);
        let keys = crate::datadir::load_keys(&master, &signing)?;
        let ring = mimamori_catalog::keys::KeyRing::new(dir.catalog.clone(), keys.master);
        mimamori_web::api::seal_credentials(&ring, cam)
            .map_err(|e| anyhow::anyhow!("{} ({})", e.message, e.code))?
    };
    let id = dir.catalog.camera_insert(&cam, SystemClock.now()).await?;
    println!("added camera {id}: {}", a.name);
    Ok(ExitCode::SUCCESS)
}

async fn list(a: ListArgs) -> anyhow::Result<ExitCode> {
    let dir = DataDir::open(&a.data).await?;
    let cams = dir.catalog.cameras().await?;
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
    let dir = DataDir::open(&a.data).await?;
    let cam = dir.catalog.camera_by_name(&a.name).await?;
    let kept = dir.catalog.camera_remove(cam.id, SystemClock.now()).await?;
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
