//! A client that stops reading a streamed answer is cut off once the server's writes have
//! waited `server.write_stall_timeout_secs`: the server keeps nothing for it, cancels the
//! generation in Ollama and stores the answer `interrupted` with the text so far.

use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use axum::{
    Router,
    body::Body,
    routing::{get, post},
};
use futures::stream;
use serde_json::{Value, json};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpSocket, TcpStream},
};

use crate::common::{Backend, TestApp};

/// Bytes sent at once before the answer slows down: more than the loopback socket buffers of
/// both ends hold (about 3 MB here), so that the server's writes must wait.
const BURST_TOKENS: usize = 16;
const BURST_TOKEN_BYTES: usize = 512 * 1024;

/// Sets its flag when dropped: the server closed the request to Ollama.
struct Cancelled(Arc<AtomicBool>);

impl Drop for Cancelled {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// An Ollama whose answers start with a few very large tokens, then go on with a small token
/// every 50 ms, without end. It lists its model like a real one (the server's health checks
/// and model routing ask `/api/tags`).
async fn endless_ollama(cancelled: Arc<AtomicBool>) -> SocketAddr {
    let app = Router::new()
        .route(
            "/api/tags",
            get(|| async { axum::Json(json!({ "models": [{ "name": "qwen2.5:3b-instruct", "size": 1 }] })) }),
        )
        .route(
        "/api/chat",
        post(move || {
            let guard = Cancelled(cancelled.clone());
            async move {
                let lines = stream::unfold((0usize, guard), |(i, guard)| async move {
                    let content = if i < BURST_TOKENS {
                        "x".repeat(BURST_TOKEN_BYTES)
                    } else {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        "y".to_string()
                    };
                    let line = json!({ "model": "qwen2.5:3b-instruct", "message": { "role": "assistant", "content": content }, "done": false });
                    let bytes = format!("{line}\n");
                    Some((Ok::<_, std::io::Error>(bytes), (i + 1, guard)))
                });
                Body::from_stream(lines)
            }
        }),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

/// Sends the chat request on a connection with a tiny receive buffer; returns it once the
/// response's first bytes (with the ids) arrived, and those bytes.
async fn ask_then_stop_reading(app: &TestApp, token: &str) -> (TcpStream, String) {
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let addr: SocketAddr = app.base.trim_start_matches("http://").parse().unwrap();
    let mut conn = socket.connect(addr).await.unwrap();
    let body = json!({ "message": "Escribe mucho" }).to_string();
    let request = format!(
        "POST /api/v1/chat HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {token}\r\n\
         content-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    conn.write_all(request.as_bytes()).await.unwrap();
    let mut head = String::new();
    let mut buf = [0u8; 1024];
    while !head.contains("\"assistant_message_id\"") {
        let n = conn.read(&mut buf).await.unwrap();
        assert!(n > 0, "the server closed before the meta event: {head}");
        head.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    (conn, head)
}

fn id_after(text: &str, key: &str) -> String {
    let start = text.find(&format!("\"{key}\":\"")).expect(key) + key.len() + 4;
    text[start..].split('"').next().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_is_cut_off_and_its_answer_interrupted() {
    let cancelled = Arc::new(AtomicBool::new(false));
    let ollama = endless_ollama(cancelled.clone()).await;
    let app = TestApp::start_with(Backend::Sqlite, |s| {
        s.ollama.host = format!("http://{ollama}");
        s.server.write_stall_timeout_secs = 1;
    })
    .await
    .unwrap();
    crate::common::within_time_limit(async {
        let token = app.admin_token().await;
        let (mut conn, head) = ask_then_stop_reading(&app, &token).await;
        let conversation = id_after(&head, "conversation_id");
        let answer = id_after(&head, "assistant_message_id");

        // Not reading: the server gives up on this client and, nobody else watching, on the answer.
        let mut stored = Value::Null;
        for _ in 0..600 {
            stored = app.conversation(&conversation, &token).await;
            let status = stored["messages"]
                .as_array()
                .and_then(|m| m.iter().find(|m| m["id"] == answer.as_str()))
                .map(|m| m["status"].clone());
            if status.is_some_and(|s| s != "streaming") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let message = stored["messages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["id"] == answer.as_str())
            .unwrap();
        assert_eq!(message["status"], "interrupted", "{message}");
        let kept = message["content"].as_str().unwrap();
        assert!(
            kept.len() >= BURST_TOKENS * BURST_TOKEN_BYTES,
            "the text so far is kept"
        );
        assert!(
            cancelled.load(Ordering::SeqCst),
            "Ollama's request was closed"
        );

        // The connection was closed by the server: reading on drains what was sent, then ends.
        let mut buf = vec![0u8; 64 * 1024];
        let mut received = 0usize;
        loop {
            match conn.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received += n,
            }
        }
        assert!(
            received < BURST_TOKENS * BURST_TOKEN_BYTES,
            "the server stopped sending before the whole answer ({received} bytes)"
        );
    })
    .await;
    app.stop().await;
}
