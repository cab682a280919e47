//! The one integration-test binary. Tests start the real `mimamori` binary on a
//! fresh data directory ([`app::spawn_app`]) and real cameras from GStreamer's RTSP
//! server ([`camera::TestCamera`]), and check every MP4 with ffprobe and ffmpeg.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test harness code: failing loudly is the point

mod access;
mod agreement;
mod app;
mod attacks;
mod audit;
mod browser;
mod camera;
mod cli;
mod crash;
mod layers;
mod load;
mod media;
mod monitoring;
mod playback;
mod postgres;
mod procs;
mod props;
mod provision;
mod recording;
mod records;
mod retention;
mod scenario;
mod upgrade;
mod web;
