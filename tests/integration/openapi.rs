//! The OpenAPI document: served, OpenAPI 3.1, and every operation in it is a real route.
//! (Its validity against the OpenAPI 3.1 schema is checked by `scripts/test.sh` with the
//! `openapi-spec-validator` package.)

use serde_json::{Value, json};

use crate::common::{Backend, TestApp, within_time_limit};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_operation_is_a_real_route() {
    let app = TestApp::start(Backend::Sqlite).await.unwrap();
    within_time_limit(check(&app)).await;
    app.stop().await;
}

async fn check(app: &TestApp) {
    let res = app
        .http
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let served: Value = res.json().await.unwrap();
    let generated = serde_json::to_value(energyapp_llm::server::rest::openapi_document()).unwrap();
    assert_eq!(served, generated);
    assert!(served["openapi"].as_str().unwrap().starts_with("3.1"));
    assert_eq!(served["servers"][0]["url"], "/api/v1");

    let token = app.admin_token().await;
    let paths = served["paths"].as_object().unwrap();
    assert!(paths.len() >= 15, "{} paths", paths.len());
    let mut operations = std::collections::HashSet::new();
    for (path, item) in paths {
        for (method, operation) in item.as_object().unwrap() {
            let id = operation["operationId"].as_str().expect("operationId");
            assert!(
                operations.insert(id.to_string()),
                "duplicate operationId {id}"
            );
            assert!(
                operation["responses"]
                    .as_object()
                    .is_some_and(|r| !r.is_empty()),
                "{method} {path} documents its responses"
            );
            let url = app.url(&format!("/api/v1{}", path.replace("{id}", "0000-unknown")));
            let request = match method.as_str() {
                "get" => app.http.get(&url),
                "post" => app.http.post(&url).json(&json!({})),
                "patch" => app.http.patch(&url).json(&json!({})),
                "delete" => app.http.delete(&url),
                other => panic!("unexpected method {other}"),
            };
            let res = request.bearer_auth(&token).send().await.unwrap();
            let status = res.status().as_u16();
            assert_ne!(status, 405, "{method} {path}");
            let content_type = res
                .headers()
                .get("content-type")
                .map(|v| v.to_str().unwrap().to_string());
            assert!(
                status == 204
                    || content_type
                        .as_deref()
                        .is_some_and(|c| c.starts_with("application/json")),
                "{method} {path}: the API answers JSON, not a page ({status}, {content_type:?})"
            );
            let body: Value = res.json().await.unwrap_or(Value::Null);
            assert_ne!(
                body["error"]["message"], "route not found",
                "{method} {path} is documented but not routed"
            );
        }
    }
}
