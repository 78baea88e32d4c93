//! The Fail2Ban filter in `deploy/fail2ban/` matches the app's failed-login lines (JSON and
//! text logs alike, wrong passwords and throttled attempts) and none of its other lines,
//! successful logins included. Checked with Debian's `fail2ban-regex` on real log output.

use std::{net::SocketAddr, path::Path, process::Command};

use serde_json::json;

use super::{
    process::AppProcess,
    tools::{available, repo},
};
use crate::common::{ADMIN_EMAIL, ADMIN_PASSWORD, fast_sim, within_time_limit};
use energyapp_llm::server::ollama_sim::{self, Simulator};

/// `fail2ban-regex FILE FILTER`: (lines, matched).
fn fail2ban_regex(log: &Path) -> (u64, u64) {
    let filter = repo().join("deploy/fail2ban/filter.d/energyapp-llm.conf");
    let out = Command::new("fail2ban-regex")
        .arg(log)
        .arg(&filter)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // "Lines: 12 lines, 0 ignored, 3 matched, 9 missed"
    let line = text
        .lines()
        .find(|l| l.starts_with("Lines: "))
        .unwrap_or_else(|| panic!("{text}"));
    let number_before = |word: &str| -> u64 {
        let words: Vec<&str> = line.split([' ', ',']).filter(|w| !w.is_empty()).collect();
        let at = words.iter().position(|w| *w == word).unwrap();
        words[at - 1].parse().unwrap()
    };
    (number_before("lines"), number_before("matched"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_filter_matches_failed_logins_only() {
    if !available("fail2ban-regex", "fail2ban") {
        return;
    }
    within_time_limit(async {
        let (sim_addr, _) = ollama_sim::spawn(
            Simulator::new(fast_sim()),
            SocketAddr::from(([127, 0, 0, 1], 0)),
        )
        .await
        .unwrap();
        for format in ["json", "text"] {
            let dir = tempfile::tempdir().unwrap();
            let app = AppProcess::start(
                dir.path(),
                sim_addr,
                &[
                    ("ENERGYAPP_LOGGING__FORMAT", format),
                    ("ENERGYAPP_AUTH__LOGIN_MAX_FAILURES", "2"),
                ],
            )
            .await;
            let http = reqwest::Client::new();
            let login = |email: &str, password: &str| {
                http.post(format!("{}/api/v1/auth/login", app.base))
                    .json(&json!({ "email": email, "password": password }))
                    .send()
            };
            assert_eq!(
                login(ADMIN_EMAIL, ADMIN_PASSWORD).await.unwrap().status(),
                200
            );
            assert_eq!(
                login("ghost@example.com", "x-password")
                    .await
                    .unwrap()
                    .status(),
                401
            );
            // The second wrong password locks the account; the third is refused (throttled).
            assert_eq!(
                login(ADMIN_EMAIL, "wrong-password").await.unwrap().status(),
                401
            );
            assert_eq!(
                login(ADMIN_EMAIL, "wrong-password").await.unwrap().status(),
                401
            );
            assert_eq!(
                login(ADMIN_EMAIL, "wrong-password").await.unwrap().status(),
                429
            );
            app.terminate().await;

            let log = std::fs::read_to_string(dir.path().join("logs/app.log")).unwrap();
            let (failed, other): (Vec<&str>, Vec<&str>) =
                log.lines().partition(|l| l.contains("failed login"));
            assert_eq!(failed.len(), 4, "{format}: {log}");
            assert!(failed.iter().all(|l| l.contains("ip=127.0.0.1 ")));
            assert!(other.iter().any(|l| l.contains("login succeeded")), "{log}");
            let failed_file = dir.path().join("failed.log");
            std::fs::write(&failed_file, failed.join("\n") + "\n").unwrap();
            let other_file = dir.path().join("other.log");
            std::fs::write(&other_file, other.join("\n") + "\n").unwrap();

            assert_eq!(fail2ban_regex(&failed_file), (4, 4), "{format}");
            let (lines, matched) = fail2ban_regex(&other_file);
            assert!(lines >= 5, "{format}: {lines} lines");
            assert_eq!(matched, 0, "{format}: other lines matched");
        }
    })
    .await;
}
