//! The audit trail: one entry per admin action, filters and pages, and no way to change it.

use serde_json::{Value, json};

use super::{create_user, json_of};
use crate::{
    common::{ADMIN_EMAIL, TestApp, error_code},
    on_both_backends,
};

on_both_backends!(every_admin_action_is_audited,);

async fn every_admin_action_is_audited(app: &TestApp) {
    let admin = app.admin_token().await;
    let user = create_user(app, &admin, "auditada@energyapp.test", "user").await;
    let id = user["id"].as_str().unwrap();
    let path = format!("/api/v1/admin/users/{id}");
    json_of(
        app.patch_json(&path, &admin, json!({ "active": false }))
            .await,
        200,
    )
    .await;
    json_of(
        app.patch_json(&path, &admin, json!({ "active": true }))
            .await,
        200,
    )
    .await;
    json_of(
        app.patch_json(&path, &admin, json!({ "role": "admin" }))
            .await,
        200,
    )
    .await;
    json_of(
        app.post_json(&format!("{path}/reset-password"), &admin, json!({}))
            .await,
        200,
    )
    .await;
    // A refused action leaves no entry.
    let me: Value = app.get_json("/api/v1/me", &admin).await;
    let res = app
        .patch_json(
            &format!("/api/v1/admin/users/{}", me["id"].as_str().unwrap()),
            &admin,
            json!({ "active": false }),
        )
        .await;
    assert_eq!(res.status(), 409);

    let log = json_of(
        app.get(&format!("/api/v1/admin/audit?target_id={id}"), &admin)
            .await,
        200,
    )
    .await;
    let entries = log["items"].as_array().unwrap();
    let actions: Vec<&str> = entries
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "user.password_reset",
            "user.role_changed",
            "user.activated",
            "user.deactivated",
            "user.created"
        ],
        "newest first"
    );
    for e in entries {
        assert_eq!(e["actor_email"], ADMIN_EMAIL);
        assert_eq!(e["actor_id"], me["id"]);
        assert_eq!(e["target_label"], "auditada@energyapp.test");
        assert_eq!(e["ip"], "127.0.0.1");
        assert!(e["created_at"].as_str().unwrap().starts_with("20"));
    }
    let role = &entries[1];
    assert_eq!(role["before"], json!({ "active": true, "role": "user" }));
    assert_eq!(role["after"], json!({ "active": true, "role": "admin" }));
    assert_eq!(entries[3]["after"]["active"], false);

    let only = json_of(
        app.get("/api/v1/admin/audit?action=user.deactivated", &admin)
            .await,
        200,
    )
    .await;
    assert_eq!(only["items"].as_array().unwrap().len(), 1);
    let page = json_of(app.get("/api/v1/admin/audit?limit=2", &admin).await, 200).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let cursor = page["next_cursor"].as_str().unwrap();
    let rest = json_of(
        app.get(
            &format!("/api/v1/admin/audit?limit=50&cursor={cursor}"),
            &admin,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(rest["items"].as_array().unwrap().len(), 3);
    let future = json_of(
        app.get("/api/v1/admin/audit?from=2999-01-01", &admin).await,
        200,
    )
    .await;
    assert!(future["items"].as_array().unwrap().is_empty());
    let res = app.get("/api/v1/admin/audit?from=ayer", &admin).await;
    assert_eq!(error_code(res, 422).await, "validation_failed");

    // The log cannot be changed through the app.
    for method in [
        reqwest::Method::PATCH,
        reqwest::Method::DELETE,
        reqwest::Method::POST,
    ] {
        let res = app
            .http
            .request(method.clone(), app.url("/api/v1/admin/audit"))
            .bearer_auth(&admin)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(error_code(res, 405).await, "method_not_allowed", "{method}");
    }
}
