//! Through a real Caddy running the repository's `deploy/Caddyfile` (plain HTTP on a loopback
//! port instead of HTTPS by domain): answers stream token by token, the client address the
//! rate limiter sees is the one Caddy forwards, static assets come compressed with cache
//! headers, and `/metrics` is not reachable from outside.

use std::{
    net::{IpAddr, SocketAddr},
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use serde_json::json;

use super::{
    process::{AppProcess, free_port},
    tools::{available, repo},
};
use crate::common::{fast_sim, within_time_limit};
use energyapp_llm::{
    server::ollama_sim::{self, SimOptions, Simulator},
    stream_events::StreamEvent,
};

struct Caddy {
    child: Child,
    base: String,
}

impl Caddy {
    /// Runs Caddy with the repository's Caddyfile: the site address and the upstream come
    /// from the variables the Caddyfile reads; the global options turn the admin API and
    /// automatic HTTPS off (tests must not bind :2019, :80 or :443).
    async fn start(dir: &Path, upstream: SocketAddr) -> Caddy {
        let port = free_port();
        let site = std::fs::read_to_string(repo().join("deploy/Caddyfile")).unwrap();
        let config = format!("{{\n\tadmin off\n\tauto_https off\n}}\n\n{site}");
        let file = dir.join("Caddyfile");
        std::fs::write(&file, config).unwrap();
        let child = Command::new("caddy")
            .args(["run", "--adapter", "caddyfile", "--config"])
            .arg(&file)
            .env("ENERGYAPP_SITE", format!("http://127.0.0.1:{port}"))
            .env("ENERGYAPP_UPSTREAM", upstream.to_string())
            .env("HOME", dir)
            .env("XDG_CONFIG_HOME", dir.join("config"))
            .env("XDG_DATA_HOME", dir.join("data"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("caddy.log")).unwrap())
            .spawn()
            .unwrap();
        let caddy = Caddy {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        for _ in 0..200 {
            if let Ok(res) = reqwest::get(format!("{}/health", caddy.base)).await
                && res.status().is_success()
            {
                return caddy;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let log = std::fs::read_to_string(dir.join("caddy.log")).unwrap_or_default();
        panic!("caddy did not start:\n{log}");
    }
}

impl Drop for Caddy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A client whose connections come from `ip` (any 127.x address is loopback on Linux).
fn client_from(ip: [u8; 4]) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::from(ip))
        .build()
        .unwrap()
}

async fn failed_login(client: &reqwest::Client, base: &str, n: usize) -> u16 {
    client
        .post(format!("{base}/api/v1/auth/login"))
        .header("x-forwarded-for", "203.0.113.50")
        .json(&json!({ "email": format!("nobody{n}@example.com"), "password": "wrong-password" }))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_caddy() {
    if !available("caddy", "caddy") {
        return;
    }
    within_time_limit(async {
        let dir = tempfile::tempdir().unwrap();
        let sim = Simulator::new(SimOptions {
            tokens: 20,
            token_delay: Duration::from_millis(100),
            ..fast_sim()
        });
        let (sim_addr, _) = ollama_sim::spawn(sim, SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .unwrap();
        let app = AppProcess::start(
            dir.path(),
            sim_addr,
            &[
                // Caddy connects from 127.0.0.1; clients below come from other addresses.
                ("ENERGYAPP_SERVER__TRUSTED_PROXIES", "[127.0.0.1]"),
                ("ENERGYAPP_AUTH__LOGIN_MAX_FAILURES_PER_IP", "3"),
            ],
        )
        .await;
        let caddy = Caddy::start(dir.path(), app.addr).await;

        streams_token_by_token(&caddy).await;
        streams_plain_text_too(&caddy).await;
        throttles_the_forwarded_address(&caddy, &app).await;
        serves_static_assets_compressed(&caddy, &app).await;

        let metrics = reqwest::get(format!("{}/metrics", caddy.base))
            .await
            .unwrap();
        assert_eq!(metrics.status(), 404, "/metrics must not be public");
    })
    .await;
}

/// The first token arrives long before the last: nothing between Ollama and the client
/// buffers the stream (a buffering proxy delivers everything at the end, at once).
async fn streams_token_by_token(caddy: &Caddy) {
    let token = AppProcess::token_via(&caddy.base).await;
    let asked = Instant::now();
    let (_, mut events) = AppProcess::start_answer(&caddy.base, &token, "hola").await;
    let mut arrivals = Vec::new();
    let mut ended = false;
    while let Some(event) = events.next().await {
        match event {
            StreamEvent::Token(_) => arrivals.push(asked.elapsed()),
            StreamEvent::Done(done) => {
                assert_eq!(done.status.as_str(), "complete");
                ended = true;
            }
            _ => {}
        }
    }
    assert!(ended, "the answer completes");
    assert!(arrivals.len() >= 10, "{} tokens", arrivals.len());
    let (first, last) = (arrivals[0], *arrivals.last().unwrap());
    assert!(
        first < last / 2,
        "first token at {first:?}, last at {last:?}: the stream was buffered"
    );
}

/// The same with `Accept: text/plain` (just the text): no event-stream content type for the
/// proxy to recognise, so this relies on the Caddyfile's `flush_interval -1`.
async fn streams_plain_text_too(caddy: &Caddy) {
    let token = AppProcess::token_via(&caddy.base).await;
    let asked = Instant::now();
    let res = reqwest::Client::new()
        .post(format!("{}/api/v1/chat", caddy.base))
        .bearer_auth(&token)
        .header("accept", "text/plain")
        .header("accept-encoding", "gzip, zstd")
        .json(&json!({ "message": "hola" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers().get("content-encoding").is_none());
    let mut body = res.bytes_stream();
    let mut arrivals = Vec::new();
    let mut text = Vec::new();
    while let Some(chunk) = futures::StreamExt::next(&mut body).await {
        let chunk = chunk.unwrap();
        if !chunk.is_empty() {
            arrivals.push(asked.elapsed());
            text.extend_from_slice(&chunk);
        }
    }
    assert!(!text.is_empty());
    assert!(arrivals.len() >= 10, "{} chunks", arrivals.len());
    let (first, last) = (arrivals[0], *arrivals.last().unwrap());
    assert!(
        first < last / 2,
        "first bytes at {first:?}, last at {last:?}: the stream was buffered"
    );
}

/// Three failures from 127.0.0.2 lock 127.0.0.2 (even though the app's TCP peer is always
/// Caddy at 127.0.0.1, and the client claims another address in X-Forwarded-For); a client
/// at 127.0.0.3 is not affected.
async fn throttles_the_forwarded_address(caddy: &Caddy, app: &AppProcess) {
    let attacker = client_from([127, 0, 0, 2]);
    for n in 0..3 {
        assert_eq!(failed_login(&attacker, &caddy.base, n).await, 401);
    }
    assert_eq!(failed_login(&attacker, &caddy.base, 3).await, 429);
    let neighbour = client_from([127, 0, 0, 3]);
    assert_eq!(failed_login(&neighbour, &caddy.base, 4).await, 401);
    let logs = app.logs();
    assert!(logs.contains("failed login ip=127.0.0.2 "), "{logs}");
    assert!(logs.contains("failed login ip=127.0.0.3 "), "{logs}");
    assert!(
        !logs.contains("ip=203.0.113.50"),
        "a spoofed address was believed"
    );
}

/// Caddy compresses the site bundle, and keeps the app's cache lifetime: a year for the
/// fingerprinted bundle the pages load, revalidation for unversioned paths. The app itself
/// sends the files plain (a debug build has no precompressed siblings).
async fn serves_static_assets_compressed(caddy: &Caddy, app: &AppProcess) {
    let site = repo().join("target/site/pkg");
    if !site.join("energyapp-llm.wasm").exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "target/site is missing: run `cargo leptos build` first (scripts/test.sh does)"
        );
        eprintln!(
            "SKIPPED: static assets through Caddy (no target/site: run `cargo leptos build`)"
        );
        return;
    }
    let client = reqwest::Client::new();
    let page = client
        .get(format!("{}/login", caddy.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let prefix = page
        .split(['"', '\''])
        .find(|s| s.starts_with("/pkg/") && s.ends_with("/energyapp-llm.js"))
        .and_then(|s| s.strip_suffix("/energyapp-llm.js"))
        .unwrap_or_else(|| panic!("no bundle path in the page: {page}"))
        .to_string();
    for asset in [
        "energyapp-llm.wasm",
        "energyapp-llm.js",
        "energyapp-llm.css",
    ] {
        let res = client
            .get(format!("{}{prefix}/{asset}", caddy.base))
            .header("accept-encoding", "gzip")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{asset}");
        let headers = res.headers().clone();
        let body = res.bytes().await.unwrap();
        assert_eq!(
            headers.get("content-encoding").map(|v| v.to_str().unwrap()),
            Some("gzip"),
            "{asset}: {headers:?}"
        );
        assert_eq!(
            headers.get("cache-control").map(|v| v.to_str().unwrap()),
            Some("public, max-age=31536000, immutable"),
            "{asset}: {headers:?}"
        );
        let plain = std::fs::metadata(site.join(asset)).unwrap().len();
        assert!(
            (body.len() as u64) < plain,
            "{asset}: {} >= {plain}",
            body.len()
        );
        let direct = client
            .get(format!("{}{prefix}/{asset}", app.base))
            .header("accept-encoding", "gzip")
            .send()
            .await
            .unwrap();
        // The app compresses only what a release build pre-compressed (`--precompress`).
        let precompressed = site.join(format!("{asset}.gz")).exists();
        assert_eq!(
            direct.headers().get("content-encoding").is_some(),
            precompressed,
            "{asset}: {:?}",
            direct.headers()
        );
    }
    // An unversioned path keeps its name across builds: cacheable, but revalidated.
    let plain = client
        .get(format!("{}/pkg/energyapp-llm.css", caddy.base))
        .send()
        .await
        .unwrap();
    assert_eq!(plain.status(), 200);
    assert_eq!(plain.headers()["cache-control"], "public, no-cache");
    assert!(plain.headers().contains_key("last-modified"));
}
