//! Usage per day and per user equals the sums of the stored answers.

use serde_json::Value;

use super::{chat, create_user, json_of};
use crate::{
    common::{ADMIN_EMAIL, TestApp, error_code},
    on_both_backends,
};

on_both_backends!(usage_equals_the_sums_of_the_stored_answers,);

async fn usage_equals_the_sums_of_the_stored_answers(app: &TestApp) {
    let admin = app.admin_token().await;
    create_user(app, &admin, "uso@energyapp.test", "user").await;
    let user = app.token("uso@energyapp.test", "a-good-password-1").await;
    chat(app, &user, "uno").await;
    chat(app, &user, "dos [sim tokens=20]").await;
    chat(app, &user, "falla [sim fault=error_mid:2]").await;
    chat(app, &admin, "del admin").await;

    // The expected sums, from each stored answer's metadata.
    let (mut prompt, mut completion, mut messages, mut failed) = (0, 0, 0, 0);
    let mut per_user = std::collections::HashMap::new();
    for (email, token) in [("uso@energyapp.test", &user), (ADMIN_EMAIL, &admin)] {
        let list: Value = app.get_json("/api/v1/conversations", token).await;
        for c in list["items"].as_array().unwrap() {
            let detail = app.conversation(c["id"].as_str().unwrap(), token).await;
            for m in detail["messages"].as_array().unwrap() {
                messages += 1;
                let p = m["meta"]["usage"]["prompt_tokens"].as_i64().unwrap_or(0);
                let c = m["meta"]["usage"]["completion_tokens"]
                    .as_i64()
                    .unwrap_or(0);
                prompt += p;
                completion += c;
                *per_user.entry(email).or_insert(0) += p + c;
                if m["status"] == "failed" {
                    failed += 1;
                }
            }
        }
    }
    assert!(prompt > 0 && completion > 0);
    let report = json_of(app.get("/api/v1/admin/usage", &admin).await, 200).await;
    assert_eq!(report["group_by"], "day");
    let rows = report["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 30, "one row per day of the default range");
    assert!(
        rows[..29].iter().all(|r| r["messages"] == 0),
        "all activity is today's"
    );
    let today = &rows[29];
    assert_eq!(
        today["key"],
        chrono::Utc::now().format("%Y-%m-%d").to_string()
    );
    assert_eq!(today["messages"], messages);
    assert_eq!(today["prompt_tokens"], prompt);
    assert_eq!(today["completion_tokens"], completion);
    assert_eq!(today["failed"], failed);
    assert_eq!(today["active_users"], 2);
    assert_eq!(today["conversations"], 4);
    assert!(today["generation_ms"].as_i64().unwrap() >= 0);
    assert_eq!(report["totals"]["prompt_tokens"], prompt);

    let by_user = json_of(
        app.get("/api/v1/admin/usage?group_by=user", &admin).await,
        200,
    )
    .await;
    for row in by_user["rows"].as_array().unwrap() {
        let email = row["label"].as_str().unwrap();
        let tokens =
            row["prompt_tokens"].as_i64().unwrap() + row["completion_tokens"].as_i64().unwrap();
        assert_eq!(tokens, per_user[email], "{email}");
    }
    let past = json_of(
        app.get("/api/v1/admin/usage?from=2020-01-01&to=2020-01-31", &admin)
            .await,
        200,
    )
    .await;
    let past_rows = past["rows"].as_array().unwrap();
    assert_eq!(past_rows.len(), 31);
    assert!(
        past_rows
            .iter()
            .all(|r| r["messages"] == 0 && r["prompt_tokens"] == 0)
    );
    assert_eq!(past["totals"]["messages"], 0);
    for query in [
        "group_by=week",
        "from=2026-02-30",
        "from=2026-05-01&to=2026-04-01",
        "from=2020-01-01&to=2026-01-01",
    ] {
        let res = app
            .get(&format!("/api/v1/admin/usage?{query}"), &admin)
            .await;
        assert_eq!(error_code(res, 422).await, "validation_failed", "{query}");
    }
}
