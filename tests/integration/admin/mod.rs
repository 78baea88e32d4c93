//! The admin API: users (filters, sort, pages, create, activate, role, reset password, guard
//! rails), every user's conversations read-only, usage sums, and the audit trail.

mod audit;
mod conversations;
mod usage;
mod users;

use serde_json::{Value, json};

use crate::common::{TestApp, read_events};

pub async fn json_of(res: reqwest::Response, status: u16) -> Value {
    assert_eq!(res.status(), status);
    res.json().await.unwrap()
}

pub async fn create_user(app: &TestApp, token: &str, email: &str, role: &str) -> Value {
    let res = app
        .post_json(
            "/api/v1/admin/users",
            token,
            json!({ "email": email, "role": role, "password": "a-good-password-1" }),
        )
        .await;
    json_of(res, 201).await["user"].clone()
}

pub async fn chat(app: &TestApp, token: &str, message: &str) -> Value {
    let events = read_events(
        app.post_json("/api/v1/chat", token, json!({ "message": message }))
            .await,
    )
    .await;
    let energyapp_llm::stream_events::StreamEvent::Meta(meta) = &events[0] else {
        panic!("meta first")
    };
    json!({ "conversation_id": meta.conversation_id })
}
