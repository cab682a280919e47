//! One module per subcommand, and `synthetic`, the benchmarks' footage.

pub mod audit;
pub mod bench;
pub mod bench_export;
pub mod bench_store;
pub mod camera;
pub mod check;
pub mod demo;
pub mod init;
pub mod migrate;
pub mod migrate_running;
pub mod policy;
pub mod report;
pub mod serve;
pub mod synthetic;
pub mod user;
pub mod verify;
pub mod verify_export;
