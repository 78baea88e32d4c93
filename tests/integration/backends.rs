//! Several Ollama backends (`ollama.hosts`): least-busy distribution, model-aware routing, a
//! dead backend taken out and put back, one retry elsewhere before the first token (never
//! after), and `/health` showing each backend. The backends are simulators: in this process,
//! or `energyapp-llm ollama-sim` processes where one must really die.

use std::{
    net::SocketAddr,
    process::{Child, Command, Stdio},
    time::Duration,
};

use energyapp_llm::{
    server::{
        config::Settings,
        ollama_hosts::OllamaHost,
        ollama_sim::{self, Fault, SimOptions, Simulator, reply_tokens},
    },
    stream_events::StreamEvent,
};
use serde_json::{Value, json};

use crate::common::{
    Backend, Events, TestApp, error_code, fast_sim, read_events, streamed_text, within_time_limit,
};

const BIN: &str = env!("CARGO_BIN_EXE_energyapp-llm");
/// A reply long enough to keep its backend busy for the whole test (50 s).
const LONG: &str = "larga [sim tokens=1000 delay_ms=50]";

/// A simulator in this process; its URL.
async fn sim(options: SimOptions) -> (Simulator, String) {
    let sim = Simulator::new(options);
    let (addr, _) = ollama_sim::spawn(sim.clone(), SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    (sim, format!("http://{addr}"))
}

fn host(url: &str, max_parallel: usize) -> OllamaHost {
    OllamaHost {
        url: url.to_string(),
        max_parallel: Some(max_parallel),
    }
}

/// The app with its own simulator first in `ollama.hosts`, then `others`, each generating at
/// most `max_parallel` answers at once.
async fn start(others: &[String], max_parallel: usize, tweak: fn(&mut Settings)) -> TestApp {
    let others = others.to_vec();
    TestApp::start_with(Backend::Sqlite, move |s| {
        s.ollama.hosts = std::iter::once(s.ollama.host.clone())
            .chain(others)
            .map(|url| host(&url, max_parallel))
            .collect();
        s.ollama.health_interval_secs = 1;
        tweak(s);
    })
    .await
    .unwrap()
}

async fn health(app: &TestApp) -> Value {
    let res = app.http.get(app.url("/health")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

/// Polls `/health` (up to 30 s) until backend `i` is in `state`; returns the report.
async fn wait_for_state(app: &TestApp, i: usize, state: &str) -> Value {
    for _ in 0..300 {
        let report = health(app).await;
        if report["backends"][i]["state"] == state {
            return report;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("backend {i} never became {state}: {}", health(app).await);
}

/// Starts an answer and returns its events once the server accepted it (its backend chosen
/// and, when a slot was free, Ollama called).
async fn begin(app: &TestApp, token: &str, body: Value) -> Events {
    Events::new(app.post_json("/api/v1/chat", token, body).await)
}

fn in_flight_and_queued(report: &Value) -> Vec<(u64, u64)> {
    report["backends"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["in_flight"].as_u64().unwrap(),
                b["queued"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_go_to_the_least_busy_backend_and_health_shows_each() {
    let (b, b_url) = sim(fast_sim()).await;
    let app = start(std::slice::from_ref(&b_url), 2, |_| {}).await;
    within_time_limit(async {
        let token = app.admin_token().await;
        let report = health(&app).await;
        let backends = report["backends"].as_array().unwrap();
        assert_eq!(backends.len(), 2);
        assert_eq!(backends[1]["url"], b_url.as_str());
        for backend in backends {
            assert_eq!(backend["state"], "healthy", "{backend}");
            assert_eq!(backend["max_parallel"], 2);
            let models = backend["models"].as_array().unwrap();
            assert!(models.contains(&json!("qwen2.5:3b-instruct")), "{backend}");
        }
        assert_eq!(report["ollama"]["reachable"], true);

        // Ties go to the first listed; then always the least busy.
        let mut answers = Vec::new();
        let mut seen = Vec::new();
        for _ in 0..5 {
            answers.push(begin(&app, &token, json!({ "message": LONG })).await);
            seen.push(in_flight_and_queued(&health(&app).await));
        }
        assert_eq!(
            seen,
            [
                vec![(1, 0), (0, 0)],
                vec![(1, 0), (1, 0)],
                vec![(2, 0), (1, 0)],
                vec![(2, 0), (2, 0)],
                // Both full: the fifth waits in the first one's line.
                vec![(2, 1), (2, 0)],
            ]
        );
        assert_eq!((app.sim.stats().in_flight, b.stats().in_flight), (2, 2));
        let mut fifth = answers.pop().unwrap();
        assert_eq!(fifth.next().await.map(|e| e.name()), Some("meta"));
        assert!(matches!(fifth.next().await, Some(StreamEvent::Queued(q)) if q.position == 1));
    })
    .await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_is_served_only_by_backends_that_have_it() {
    let (b, b_url) = sim(SimOptions {
        models: vec!["qwen2.5:3b-instruct".into(), "solo-en-b:1b".into()],
        ..fast_sim()
    })
    .await;
    let app = start(&[b_url], 4, |s| {
        s.ollama.model = "qwen2.5:3b-instruct".into();
    })
    .await;
    app.sim.set_options(SimOptions {
        models: vec!["qwen2.5:3b-instruct".into()],
        ..fast_sim()
    });
    within_time_limit(async {
        let token = app.admin_token().await;
        // The first backend lists its models again within a health interval.
        for _ in 0..300 {
            let report = health(&app).await;
            if report["backends"][0]["models"] == json!(["qwen2.5:3b-instruct"]) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let models: Value = app.get_json("/api/v1/models", &token).await;
        let names: Vec<&str> = models["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["qwen2.5:3b-instruct", "solo-en-b:1b"]);

        for _ in 0..3 {
            let events = read_events(
                app.post_json(
                    "/api/v1/chat",
                    &token,
                    json!({ "message": "hola", "model": "solo-en-b:1b" }),
                )
                .await,
            )
            .await;
            assert_eq!(events.last().map(|e| e.name()), Some("done"), "{events:?}");
        }
        assert_eq!((app.sim.stats().requests, b.stats().requests), (0, 3));

        let res = app
            .post_json(
                "/api/v1/chat",
                &token,
                json!({ "message": "hola", "model": "en-ninguno:1b" }),
            )
            .await;
        assert_eq!(res.status(), 422);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "unknown_model");
        assert_eq!(
            body["error"]["available"],
            json!(["qwen2.5:3b-instruct", "solo-en-b:1b"])
        );
    })
    .await;
    app.stop().await;
}

/// `energyapp-llm ollama-sim` on a fixed port, as a process that can die.
struct SimProcess {
    child: Child,
    port: u16,
}

impl SimProcess {
    async fn start(port: u16) -> SimProcess {
        let child = Command::new(BIN)
            .args([
                "ollama-sim",
                "--bind",
                &format!("127.0.0.1:{port}"),
                "--tokens",
                "12",
                "--token-delay-ms",
                "0",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let process = SimProcess { child, port };
        for _ in 0..300 {
            if let Ok(res) = reqwest::get(format!("{}/api/tags", process.url())).await
                && res.status().is_success()
            {
                return process;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the simulator did not start");
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_backend_is_taken_out_and_put_back_when_it_recovers() {
    let port = free_port();
    let mut b = SimProcess::start(port).await;
    let app = start(&[b.url()], 2, |_| {}).await;
    within_time_limit(async {
        let token = app.admin_token().await;
        wait_for_state(&app, 1, "healthy").await;

        b.kill();
        let report = wait_for_state(&app, 1, "unhealthy").await;
        assert!(
            report["backends"][1]["error"]
                .as_str()
                .unwrap()
                .contains("not reachable"),
            "{report}"
        );
        assert_eq!(report["backends"][0]["state"], "healthy");
        assert_eq!(report["ollama"]["reachable"], true);

        // While it is out, answers go to the other one, even when that one is busier.
        let _busy = begin(&app, &token, json!({ "message": LONG })).await;
        let events = read_events(
            app.post_json("/api/v1/chat", &token, json!({ "message": "hola" }))
                .await,
        )
        .await;
        assert_eq!(events.last().map(|e| e.name()), Some("done"));
        assert_eq!(app.sim.stats().requests, 2);

        let b = SimProcess::start(port).await;
        wait_for_state(&app, 1, "healthy").await;
        // Back in: the less busy one again.
        let events = read_events(
            app.post_json("/api/v1/chat", &token, json!({ "message": "hola" }))
                .await,
        )
        .await;
        assert_eq!(events.last().map(|e| e.name()), Some("done"));
        assert_eq!(app.sim.stats().requests, 2, "the answer went to the other");
        drop(b);
    })
    .await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_that_finds_its_backend_dead_is_retried_elsewhere_and_takes_it_out() {
    let port = free_port();
    let mut b = SimProcess::start(port).await;
    // Checked only every minute: the request, not the health check, finds it dead.
    let app = start(&[b.url()], 2, |s| s.ollama.health_interval_secs = 60).await;
    within_time_limit(async {
        let token = app.admin_token().await;
        wait_for_state(&app, 1, "healthy").await;
        let _busy = begin(&app, &token, json!({ "message": LONG })).await;
        b.kill();

        // The second backend is the less busy: chosen, unreachable, retried on the first.
        let message = "hola";
        let events = read_events(
            app.post_json("/api/v1/chat", &token, json!({ "message": message }))
                .await,
        )
        .await;
        assert_eq!(events.last().map(|e| e.name()), Some("done"), "{events:?}");
        assert_eq!(streamed_text(&events), reply_tokens(message, 12).concat());
        assert_eq!(app.sim.stats().requests, 2);
        let report = health(&app).await;
        assert_eq!(report["backends"][1]["state"], "unhealthy", "{report}");

        // Checked again after 1 s, 2 s, 4 s ...: back soon after it recovers.
        let _b = SimProcess::start(port).await;
        wait_for_state(&app, 1, "healthy").await;
    })
    .await;
    app.stop().await;
}

/// Sends `message` and reads the whole answer.
async fn chat(app: &TestApp, token: &str, message: &str) -> Vec<StreamEvent> {
    read_events(
        app.post_json("/api/v1/chat", token, json!({ "message": message }))
            .await,
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backend_failing_before_the_first_token_is_retried_once_on_another() {
    let (b, b_url) = sim(fast_sim()).await;
    let app = start(&[b_url], 2, |_| {}).await;
    within_time_limit(async {
        let token = app.admin_token().await;
        let faults = [
            // Refused with a status: the retry happens before the answer starts.
            Fault::Http500,
            // Accepted, then cut or failed before any token: the retry happens mid-answer,
            // unseen by the client.
            Fault::CutMidStream { after: 0 },
            Fault::ErrorMidStream { after: 0 },
        ];
        for (i, fault) in faults.into_iter().enumerate() {
            app.sim.set_options(SimOptions {
                fault: Some(fault),
                ..fast_sim()
            });
            let message = format!("pregunta {i}");
            let events = chat(&app, &token, &message).await;
            let Some(StreamEvent::Done(done)) = events.last() else {
                panic!("{fault:?}: {events:?}")
            };
            assert_eq!(done.status.as_str(), "complete");
            assert_eq!(streamed_text(&events), reply_tokens(&message, 12).concat());
            assert_eq!(
                (app.sim.stats().requests, b.stats().requests),
                (i as u64 + 1, i as u64 + 1),
                "{fault:?}: one try on each"
            );
        }
        // Neither was taken out: they answer their health checks.
        let report = health(&app).await;
        assert_eq!(report["backends"][0]["state"], "healthy");
    })
    .await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_one_retry() {
    let failing = SimOptions {
        fault: Some(Fault::Http500),
        ..fast_sim()
    };
    let (b, b_url) = sim(failing.clone()).await;
    let (c, c_url) = sim(fast_sim()).await;
    let app = start(&[b_url, c_url], 2, |_| {}).await;
    app.sim.set_options(failing);
    within_time_limit(async {
        let token = app.admin_token().await;
        let res = app
            .post_json("/api/v1/chat", &token, json!({ "message": "hola" }))
            .await;
        assert_eq!(error_code(res, 503).await, "ollama_unavailable");
        assert_eq!(
            (
                app.sim.stats().requests,
                b.stats().requests,
                c.stats().requests
            ),
            (1, 1, 0)
        );
    })
    .await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_retry_once_tokens_were_sent() {
    let (b, b_url) = sim(fast_sim()).await;
    let app = start(&[b_url], 2, |_| {}).await;
    within_time_limit(async {
        let token = app.admin_token().await;
        for (fault, code) in [
            (Fault::CutMidStream { after: 3 }, "ollama_disconnected"),
            (Fault::ErrorMidStream { after: 3 }, "ollama_error"),
        ] {
            app.sim.set_options(SimOptions {
                fault: Some(fault),
                ..fast_sim()
            });
            let message = "hola";
            let events = chat(&app, &token, message).await;
            let Some(StreamEvent::Error(error)) = events.last() else {
                panic!("{events:?}")
            };
            assert_eq!(error.code, code);
            assert_eq!(
                streamed_text(&events),
                reply_tokens(message, 12)[..3].concat()
            );
        }
        assert_eq!((app.sim.stats().requests, b.stats().requests), (2, 0));
    })
    .await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openai_api_is_retried_on_another_backend_too() {
    let (b, b_url) = sim(fast_sim()).await;
    let app = start(&[b_url], 2, |_| {}).await;
    app.sim.set_options(SimOptions {
        fault: Some(Fault::Http500),
        ..fast_sim()
    });
    within_time_limit(async {
        let admin = app.admin_token().await;
        let (key, _) = crate::common::create_key(
            &app,
            &admin,
            json!({ "name": "erp", "owner": crate::common::ADMIN_EMAIL }),
        )
        .await;
        let res = app
            .post_json(
                "/v1/chat/completions",
                &key,
                json!({ "model": "qwen2.5:3b-instruct", "messages": [{ "role": "user", "content": "hola" }] }),
            )
            .await;
        assert_eq!(res.status(), 200);
        let body: Value = res.json().await.unwrap();
        assert_eq!(
            body["choices"][0]["message"]["content"],
            reply_tokens("hola", 12).concat()
        );
        assert_eq!((app.sim.stats().requests, b.stats().requests), (1, 1));
    })
    .await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_see_the_backends_and_nobody_else_does() {
    let (_b, b_url) = sim(fast_sim()).await;
    let app = start(std::slice::from_ref(&b_url), 3, |_| {}).await;
    within_time_limit(async {
        let call = |token: String| {
            app.http
                .post(app.url("/api/admin_backends"))
                .header("cookie", format!("ea_access={token}"))
                .header("origin", &app.base)
                .header("content-type", "application/json")
                .body("{}")
                .send()
        };
        let res = call(app.admin_token().await).await.unwrap();
        assert_eq!(res.status(), 200);
        let list: Value = res.json().await.unwrap();
        let list = list.as_array().unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[1]["url"], b_url.as_str());
        assert_eq!(list[1]["state"], "healthy");
        assert_eq!(list[1]["max_parallel"], 3);

        let user = app.user_token("ana@test.local").await;
        let res = call(user).await.unwrap();
        assert_eq!(res.status(), 403);
    })
    .await;
    app.stop().await;
}
