//! The load generator of energyapp-llm's benchmark suite (issue 8). It starts the Ollama
//! simulator and, for each scenario, a fresh release server on loopback; drives it over HTTP;
//! prints a table and writes the figures as JSON. Normally run by `scripts/bench.sh`.
//!
//! ```text
//! energyapp-load [--quick] [--bin target/release/energyapp-llm] [--site-root target/site]
//!                [--postgres postgres://postgres@127.0.0.1:5432/postgres]
//!                [--out target/bench/results.json] [SCENARIO ...]
//! ```

mod api;
mod drive;
mod error;
mod proc_stats;
mod procs;
mod report;
mod scenarios;
mod scratch_db;
mod seed;
mod sse;
mod stats;
mod stored;

use std::{path::PathBuf, process::ExitCode, time::Instant};

use error::{BenchError, Result};
use procs::{Build, Simulator};
use report::Report;
use scenarios::{ALL, Bench};

struct Args {
    quick: bool,
    bin: PathBuf,
    site_root: PathBuf,
    postgres: Option<String>,
    out: PathBuf,
    scenarios: Vec<String>,
}

fn parse_args() -> Result<Args> {
    let mut args = Args {
        quick: false,
        bin: "target/release/energyapp-llm".into(),
        site_root: "target/site".into(),
        postgres: None,
        out: "target/bench/results.json".into(),
        scenarios: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .ok_or_else(|| BenchError::Usage(format!("{name} needs a value")))
        };
        match arg.as_str() {
            "--quick" => args.quick = true,
            "--bin" => args.bin = value("--bin")?.into(),
            "--site-root" => args.site_root = value("--site-root")?.into(),
            "--postgres" => args.postgres = Some(value("--postgres")?),
            "--out" => args.out = value("--out")?.into(),
            "-h" | "--help" => {
                return Err(BenchError::Usage(format!(
                    "energyapp-load [--quick] [--bin FILE] [--site-root DIR] [--postgres URL] [--out FILE] [SCENARIO ...]\n  scenarios: {}",
                    ALL.join(" ")
                )));
            }
            name if ALL.contains(&name) => args.scenarios.push(name.to_string()),
            other => {
                return Err(BenchError::Usage(format!(
                    "unknown scenario or option {other:?}; scenarios: {}",
                    ALL.join(" ")
                )));
            }
        }
    }
    if args.scenarios.is_empty() {
        args.scenarios = ALL.iter().map(|s| s.to_string()).collect();
    }
    Ok(args)
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(2)
        }
    }
}

/// Runs the chosen scenarios; false when one of them could not finish.
async fn run() -> Result<bool> {
    let args = parse_args()?;
    if !args.bin.exists() {
        return Err(BenchError::Usage(format!(
            "{} is missing: build first (cargo leptos build --release)",
            args.bin.display()
        )));
    }
    // Absolute: each server runs in its own temporary folder.
    let absolute = |p: &PathBuf| std::path::absolute(p).unwrap_or_else(|_| p.clone());
    let build = Build {
        bin: absolute(&args.bin),
        site_root: absolute(&args.site_root),
    };
    let mut report = Report {
        started_at: unix_time(),
        quick: args.quick,
        ..Report::default()
    };
    report.machine.cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    report.machine.load_before = proc_stats::load_average();
    let sim = Simulator::start(&build).await?;
    let bench = Bench {
        build,
        sim,
        quick: args.quick,
        postgres: args.postgres.clone(),
    };
    let mut all_ran = true;
    for name in ALL
        .iter()
        .filter(|s| args.scenarios.iter().any(|a| a == *s))
    {
        println!("== {name}");
        let t = Instant::now();
        let result = match *name {
            "footprint" => scenarios::footprint::run(&bench, &mut report).await,
            "relay" => scenarios::relay::run(&bench, &mut report).await,
            "concurrency" => scenarios::concurrency::run(&bench, &mut report).await,
            "throughput" => scenarios::throughput::run(&bench, &mut report).await,
            "login" => scenarios::login_storm::run(&bench, &mut report).await,
            "queries" => scenarios::queries::run(&bench, &mut report).await,
            "bundle" => scenarios::bundle::run(&bench, &mut report).await,
            _ => unreachable!("names come from ALL"),
        };
        if let Err(e) = result {
            all_ran = false;
            report.note(name, format!("FAILED: {e}"));
        }
        println!("   ({:.1} s)", t.elapsed().as_secs_f64());
    }
    report.machine.load_after = proc_stats::load_average();
    println!();
    print!("{}", report.table());
    for note in &report.notes {
        println!("- {note}");
    }
    println!(
        "load average before {}, after {} ({} CPUs)",
        report.machine.load_before, report.machine.load_after, report.machine.cpus
    );
    if let Some(dir) = args.out.parent() {
        std::fs::create_dir_all(dir).map_err(BenchError::io("results folder"))?;
    }
    let json = serde_json::to_string_pretty(&report).expect("the report is plain data");
    std::fs::write(&args.out, json).map_err(BenchError::io(args.out.display().to_string()))?;
    println!("results: {}", args.out.display());
    Ok(all_ran)
}

fn unix_time() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    format!("{secs} (unix seconds)")
}
