//! The scenarios of issue 8's benchmark suite, one module each.

pub mod bundle;
pub mod concurrency;
pub mod footprint;
pub mod login_storm;
pub mod queries;
pub mod relay;
pub mod throughput;

use crate::procs::{Build, Simulator};

/// What every scenario gets.
pub struct Bench {
    pub build: Build,
    pub sim: Simulator,
    /// Smaller counts and shorter runs.
    pub quick: bool,
    /// A PostgreSQL server URL (its `postgres` database) for the PostgreSQL halves of `relay`
    /// and `queries`.
    pub postgres: Option<String>,
}

impl Bench {
    /// `full` normally, `quick` in quick mode.
    pub fn pick<T>(&self, full: T, quick: T) -> T {
        if self.quick { quick } else { full }
    }
}

/// Every scenario, in the order they run.
pub const ALL: [&str; 7] = [
    "footprint",
    "relay",
    "concurrency",
    "throughput",
    "login",
    "queries",
    "bundle",
];
