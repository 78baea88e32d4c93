//! `/metrics` parses as Prometheus text and moves with traffic; it is off by default and
//! needs its token; the access log has one JSON line per request with its id, user, route,
//! status and duration; and no log ever carries a password, a token or a message.

use std::{collections::BTreeMap, net::SocketAddr};

use serde_json::{Value, json};

use super::process::{AppProcess, METRICS_TOKEN};
use crate::common::{
    ADMIN_EMAIL, ADMIN_PASSWORD, Backend, JWT_SECRET, TestApp, fast_sim, within_time_limit,
};
use energyapp_llm::{
    server::ollama_sim::{self, Simulator},
    stream_events::StreamEvent,
};

/// Samples by `name{labels}`. Panics on anything that is not valid Prometheus text format
/// 0.0.4: every sample belongs to a family declared once by `# TYPE`, names and labels are
/// well formed, values are numbers, histogram buckets are cumulative and end at `+Inf`.
fn parse(text: &str) -> BTreeMap<String, f64> {
    let mut types: BTreeMap<String, String> = BTreeMap::new();
    let mut samples = BTreeMap::new();
    let name_ok = |n: &str| {
        !n.is_empty()
            && n.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
            && !n.starts_with(|c: char| c.is_ascii_digit())
    };
    for line in text.lines() {
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# ") {
            let mut parts = rest.splitn(3, ' ');
            let (kind, name, value) = (parts.next(), parts.next(), parts.next());
            assert!(name.is_some_and(name_ok), "bad comment line: {line}");
            if kind == Some("TYPE") {
                let value = value.unwrap_or("");
                assert!(
                    ["counter", "gauge", "histogram", "summary", "untyped"].contains(&value),
                    "bad type: {line}"
                );
                let previous = types.insert(name.unwrap().to_string(), value.to_string());
                assert!(previous.is_none(), "family declared twice: {line}");
            }
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect("sample has a value");
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            v => v.parse().unwrap_or_else(|_| panic!("bad value: {line}")),
        };
        let name = series.split('{').next().unwrap();
        assert!(name_ok(name), "bad name: {line}");
        if let Some(labels) = series.strip_prefix(name).filter(|l| !l.is_empty()) {
            let inner = labels
                .strip_prefix('{')
                .and_then(|l| l.strip_suffix('}'))
                .unwrap_or_else(|| panic!("bad labels: {line}"));
            for pair in inner.split("\",") {
                let (key, val) = pair.split_once("=\"").unwrap_or_else(|| panic!("{line}"));
                assert!(name_ok(key), "bad label name: {line}");
                assert!(!val.trim_end_matches('"').contains('"') || val.contains("\\\""));
            }
        }
        let family = types
            .keys()
            .find(|f| {
                name == f.as_str()
                    || ["_bucket", "_sum", "_count"]
                        .iter()
                        .any(|s| name == format!("{f}{s}"))
            })
            .unwrap_or_else(|| panic!("sample of an undeclared family: {line}"));
        assert!(
            types[family] == "histogram" || name == family,
            "suffix on a non-histogram: {line}"
        );
        samples.insert(series.to_string(), value);
    }
    // Histograms: buckets cumulative in `le` order, the last is +Inf and equals _count.
    for (family, kind) in &types {
        if kind != "histogram" {
            continue;
        }
        let mut series_buckets: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
        for (series, value) in &samples {
            if let Some(rest) = series.strip_prefix(&format!("{family}_bucket{{")) {
                let (others, le) = rest.split_once("le=\"").unwrap();
                let le = le.trim_end_matches("\"}");
                let le = if le == "+Inf" {
                    f64::INFINITY
                } else {
                    le.parse().unwrap()
                };
                let others = others.trim_end_matches(',').to_string();
                series_buckets.entry(others).or_default().push((le, *value));
            }
        }
        assert!(
            !series_buckets.is_empty(),
            "histogram {family} without buckets"
        );
        for (labels, mut buckets) in series_buckets {
            buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
            assert!(
                buckets.windows(2).all(|w| w[0].1 <= w[1].1),
                "{family}{{{labels}}}: buckets not cumulative: {buckets:?}"
            );
            let (last_le, last) = *buckets.last().unwrap();
            assert!(
                last_le.is_infinite(),
                "{family}{{{labels}}}: no +Inf bucket"
            );
            let count = if labels.is_empty() {
                format!("{family}_count")
            } else {
                format!("{family}_count{{{labels}}}")
            };
            assert_eq!(samples.get(&count), Some(&last), "{count}");
        }
    }
    samples
}

fn get(samples: &BTreeMap<String, f64>, series: &str) -> f64 {
    samples.get(series).copied().unwrap_or(0.0)
}

#[tokio::test]
async fn metrics_are_off_by_default() {
    let app = TestApp::start(Backend::Sqlite).await.unwrap();
    let res = reqwest::get(app.url("/metrics")).await.unwrap();
    assert_eq!(res.status(), 404);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_move_with_traffic_and_logs_hold_no_secrets() {
    within_time_limit(async {
        let dir = tempfile::tempdir().unwrap();
        let (sim_addr, _) = ollama_sim::spawn(
            Simulator::new(fast_sim()),
            SocketAddr::from(([127, 0, 0, 1], 0)),
        )
        .await
        .unwrap();
        let app = AppProcess::start(dir.path(), sim_addr, &[]).await;
        let http = reqwest::Client::new();
        for token in [None, Some("wrong-token-wrong-token")] {
            let mut req = http.get(format!("{}/metrics", app.base));
            if let Some(token) = token {
                req = req.bearer_auth(token);
            }
            assert_eq!(req.send().await.unwrap().status(), 401);
        }
        let before = parse(&app.metrics().await);

        // Traffic: a failed login, a login, an answer, a page of conversations, a 404.
        let wrong = "not-the-password-999";
        let res = http
            .post(format!("{}/api/v1/auth/login", app.base))
            .json(&json!({ "email": ADMIN_EMAIL, "password": wrong }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401);
        let res = http
            .post(format!("{}/api/v1/auth/login", app.base))
            .json(&json!({ "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD }))
            .send()
            .await
            .unwrap();
        let login: Value = res.json().await.unwrap();
        let access = login["access_token"].as_str().unwrap().to_string();
        let refresh = login["refresh_token"].as_str().unwrap().to_string();
        let user_id = login["user"]["id"].as_str().unwrap().to_string();
        let secret_message = "mensaje-confidencial-4242";
        let (meta, mut events) = AppProcess::start_answer(&app.base, &access, secret_message).await;
        let mut tokens = 0.0;
        while let Some(event) = events.next().await {
            if let StreamEvent::Token(_) = event {
                tokens += 1.0;
            }
        }
        let res = http
            .get(format!(
                "{}/api/v1/conversations/{}",
                app.base, meta.conversation_id
            ))
            .bearer_auth(&access)
            .header("x-request-id", "test-request-0001")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["x-request-id"], "test-request-0001");
        // The conversation's page, as a browser asks for it (the session in its cookie).
        let res = http
            .get(format!("{}/c/{}", app.base, meta.conversation_id))
            .header("cookie", format!("ea_access={access}"))
            .header("x-request-id", "test-request-0002")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert!(res.text().await.unwrap().contains(secret_message));
        // An application with an API key.
        let res = http
            .post(format!("{}/api/v1/admin/api-keys", app.base))
            .bearer_auth(&access)
            .json(&json!({ "name": "ERP", "owner": ADMIN_EMAIL }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
        let key: Value = res.json().await.unwrap();
        let res = http
            .get(format!("{}/api/v1/conversations", app.base))
            .bearer_auth(key["secret"].as_str().unwrap())
            .header("x-request-id", "test-request-0003")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let res = http
            .post(format!("{}/api/v1/auth/refresh", app.base))
            .json(&json!({ "refresh_token": refresh }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let renewed: Value = res.json().await.unwrap();
        let res = http
            .get(format!("{}/api/v1/no/such/route", app.base))
            .bearer_auth(&access)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 404);

        let after = parse(&app.metrics().await);
        let delta = |series: &str| get(&after, series) - get(&before, series);
        let requests = |method: &str, route: &str, status: u16| {
            format!(
                "energyapp_http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}}"
            )
        };
        assert_eq!(delta(&requests("POST", "/api/v1/auth/login", 401)), 1.0);
        assert_eq!(delta(&requests("POST", "/api/v1/auth/login", 200)), 1.0);
        assert_eq!(delta(&requests("POST", "/api/v1/chat", 200)), 1.0);
        assert_eq!(
            delta(&requests("GET", "/api/v1/conversations/{id}", 200)),
            1.0
        );
        assert!(
            !after.keys().any(|k| k.contains(&meta.conversation_id)),
            "raw URLs leaked into route labels"
        );
        assert_eq!(delta("energyapp_login_failures_total"), 1.0);
        // Every token Ollama sent was relayed (a reader may get several in one event).
        assert_eq!(
            delta("energyapp_tokens_relayed_total"),
            fast_sim().tokens as f64
        );
        assert!(tokens >= 1.0 && tokens <= fast_sim().tokens as f64);
        assert_eq!(delta("energyapp_answers_total{status=\"complete\"}"), 1.0);
        assert_eq!(delta("energyapp_time_to_first_token_seconds_count"), 1.0);
        assert!(delta("energyapp_ollama_request_duration_seconds_count{op=\"chat\"}") >= 1.0);
        assert_eq!(get(&after, "energyapp_active_streams"), 0.0);
        assert_eq!(get(&after, "energyapp_queued_requests"), 0.0);
        // SQLite: the pool is capped at 2 whatever database.max_connections says.
        assert_eq!(get(&after, "energyapp_db_pool_max"), 2.0);
        let build = format!(
            "energyapp_build_info{{version=\"{}\"}}",
            env!("CARGO_PKG_VERSION")
        );
        assert_eq!(get(&after, &build), 1.0);
        assert!(get(&after, "energyapp_db_pool_connections") >= 1.0);

        // The access log: one JSON line per request, with id, user, route, status, durations
        // (written when the response is over: read it once the server has stopped).
        app.terminate().await;
        let file = std::fs::read_to_string(dir.path().join("logs/app.log")).unwrap();
        let lines: Vec<Value> = file
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect();
        let access_lines: Vec<&Value> =
            lines.iter().filter(|l| l["target"] == "access").collect();
        let detail = access_lines
            .iter()
            .find(|l| l["fields"]["request_id"] == "test-request-0001")
            .expect("access line of the conversation request");
        assert_eq!(detail["fields"]["route"], "/api/v1/conversations/{id}");
        assert_eq!(detail["fields"]["method"], "GET");
        assert_eq!(detail["fields"]["status"], 200);
        assert_eq!(detail["fields"]["user_id"], user_id.as_str());
        assert!(detail["fields"]["duration_ms"].is_number());
        // The page's user is known once its server functions have read the session.
        let page = access_lines
            .iter()
            .find(|l| l["fields"]["request_id"] == "test-request-0002")
            .expect("access line of the conversation's page");
        assert_eq!(page["fields"]["status"], 200);
        assert_eq!(page["fields"]["user_id"], user_id.as_str());
        let with_key = access_lines
            .iter()
            .find(|l| l["fields"]["request_id"] == "test-request-0003")
            .expect("access line of the request with a key");
        assert_eq!(with_key["fields"]["user_id"], user_id.as_str());
        let chat = access_lines
            .iter()
            .find(|l| l["fields"]["route"] == "/api/v1/chat")
            .expect("access line of the streamed answer");
        let (ttfb, total) = (
            chat["fields"]["ttfb_ms"].as_f64().unwrap(),
            chat["fields"]["duration_ms"].as_f64().unwrap(),
        );
        assert!(total >= ttfb, "the stream's line covers the whole stream");
        assert_eq!(chat["fields"]["user_id"], user_id.as_str());
        let failed = access_lines
            .iter()
            .find(|l| l["fields"]["route"] == "/api/v1/auth/login" && l["fields"]["status"] == 401)
            .expect("access line of the failed login");
        assert_eq!(failed["fields"]["user_id"], "-");

        // No secrets anywhere in what the process wrote.
        let logs = std::fs::read_to_string(dir.path().join("logs/app.log")).unwrap()
            + &std::fs::read_to_string(dir.path().join("stdout.log")).unwrap();
        for secret in [
            ADMIN_PASSWORD,
            wrong,
            access.as_str(),
            refresh.as_str(),
            renewed["access_token"].as_str().unwrap(),
            renewed["refresh_token"].as_str().unwrap(),
            key["secret"].as_str().unwrap(),
            JWT_SECRET,
            METRICS_TOKEN,
            secret_message,
        ] {
            assert!(!logs.contains(secret), "the logs contain a secret: {secret}");
        }
        // The JWT header is the same for every token: no token fragment either.
        let jwt_prefix = &access[..20];
        assert!(!logs.contains(jwt_prefix), "a token fragment is in the logs");
    })
    .await;
}
