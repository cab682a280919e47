//! `mimamori check`: does the catalog agree with the segment files? Every catalog
//! row must have its file at the recorded size with a readable sample index that
//! adds up; every finished file must be in the catalog. Exit 0 only when so.

use std::path::PathBuf;
use std::process::ExitCode;

use mimamori_media::SampleIndex;
use mimamori_storage::FileProblem;

use crate::datadir::DataDir;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    pub data: PathBuf,
}

pub async fn run(a: Args) -> anyhow::Result<ExitCode> {
    let dir = DataDir::open(&a.data).await?;
    let segments = dir.catalog.all_segments().await?;
    let mut problems: Vec<String> = Vec::new();
    let mut expected = Vec::with_capacity(segments.len());
    for s in &segments {
        // On disk a file is larger than its media by the encryption tags.
        let on_disk = if s.stored_bytes > 0 {
            s.stored_bytes
        } else {
            s.bytes
        };
        expected.push((s.file_name.clone(), u64::try_from(on_disk).unwrap_or(0)));
        if s.stored_bytes > 0
            && u64::try_from(s.stored_bytes).ok()
                != Some(mimamori_crypto::encrypted_len(
                    u64::try_from(s.bytes).unwrap_or(0),
                ))
        {
            problems.push(format!(
                "segment {} ({}): its stored size does not match its media size",
                s.id, s.file_name
            ));
        }
        match SampleIndex::decode(&s.sample_index) {
            Err(e) => problems.push(format!("segment {} ({}): {e}", s.id, s.file_name)),
            Ok(idx) => {
                if idx.total_bytes() != u64::try_from(s.bytes).unwrap_or(0)
                    || idx.len() as i64 != s.frames
                {
                    problems.push(format!(
                        "segment {} ({}): its index describes {} frames / {} bytes, the row says {} / {}",
                        s.id,
                        s.file_name,
                        idx.len(),
                        idx.total_bytes(),
                        s.frames,
                        s.bytes
                    ));
                }
            }
        }
        if s.end <= s.start {
            problems.push(format!(
                "segment {} ({}): ends before it starts",
                s.id, s.file_name
            ));
        }
    }
    let mut notes = Vec::new();
    for p in dir.store.check(&expected)? {
        match p {
            // A file being written right now (or left by a crash, discarded at next start).
            FileProblem::Partial { .. } => notes.push(p.to_string()),
            _ => problems.push(p.to_string()),
        }
    }
    for n in &notes {
        println!("note: {n}");
    }
    if problems.is_empty() {
        println!(
            "consistent: {} segments, every file present at its recorded size",
            segments.len()
        );
        Ok(ExitCode::SUCCESS)
    } else {
        for p in &problems {
            println!("PROBLEM: {p}");
        }
        println!(
            "{} problem(s) in {} segments",
            problems.len(),
            segments.len()
        );
        Ok(ExitCode::from(1))
    }
}
