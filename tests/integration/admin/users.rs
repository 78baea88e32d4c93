//! Accounts: who may use the admin API, the users table, creation, password resets, guard rails.

use serde_json::{Value, json};

use super::{chat, create_user, json_of};
use crate::{
    common::{TestApp, error_code},
    on_both_backends,
};

on_both_backends!(
    non_admins_are_refused_on_every_admin_route,
    users_are_filtered_sorted_and_paged,
    accounts_are_created_and_passwords_reset,
    admins_cannot_lock_themselves_out,
);

async fn non_admins_are_refused_on_every_admin_route(app: &TestApp) {
    let user = app.user_token("persona@test.local").await;
    let doc: Value = app.public_json("/api/v1/openapi.json").await;
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        if !path.starts_with("/admin") {
            continue;
        }
        for method in item.as_object().unwrap().keys() {
            let url = app.url(&format!("/api/v1{}", path.replace("{id}", "x")));
            let request = |token: Option<&str>| {
                let r = match method.as_str() {
                    "get" => app.http.get(&url),
                    "post" => app.http.post(&url).json(&json!({})),
                    "patch" => app.http.patch(&url).json(&json!({})),
                    "delete" => app.http.delete(&url),
                    other => panic!("unexpected {other}"),
                };
                match token {
                    Some(t) => r.bearer_auth(t),
                    None => r,
                }
            };
            let res = request(Some(&user)).send().await.unwrap();
            assert_eq!(error_code(res, 403).await, "forbidden", "{method} {path}");
            let res = request(None).send().await.unwrap();
            assert_eq!(
                error_code(res, 401).await,
                "unauthorized",
                "{method} {path}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 10, "{checked} admin operations checked");
}

async fn users_are_filtered_sorted_and_paged(app: &TestApp) {
    let admin = app.admin_token().await;
    for i in 0..23 {
        let role = if i % 5 == 0 { "admin" } else { "user" };
        create_user(app, &admin, &format!("persona{i:02}@energyapp.test"), role).await;
    }
    let target = create_user(app, &admin, "inactiva@energyapp.test", "user").await;
    let path = format!("/api/v1/admin/users/{}", target["id"].as_str().unwrap());
    json_of(
        app.patch_json(&path, &admin, json!({ "active": false }))
            .await,
        200,
    )
    .await;

    // Pages of 10 cover all 25 accounts once, newest first.
    let (mut seen, mut cursor) = (Vec::new(), String::new());
    loop {
        let page = json_of(
            app.get(
                &format!("/api/v1/admin/users?limit=10&cursor={cursor}"),
                &admin,
            )
            .await,
            200,
        )
        .await;
        for u in page["items"].as_array().unwrap() {
            seen.push(u["created_at"].as_str().unwrap().to_string());
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = c.to_string(),
            None => break,
        }
    }
    assert_eq!(seen.len(), 25);
    let mut sorted = seen.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(seen, sorted);

    let emails = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["email"].as_str().unwrap().to_string())
            .collect()
    };
    let by_email = json_of(
        app.get("/api/v1/admin/users?sort=email&limit=200", &admin)
            .await,
        200,
    )
    .await;
    let mut expected = emails(&by_email);
    expected.sort();
    assert_eq!(emails(&by_email), expected);

    let admins = json_of(app.get("/api/v1/admin/users?role=admin", &admin).await, 200).await;
    assert_eq!(emails(&admins).len(), 6, "5 created + the bootstrap admin");
    let inactive = json_of(
        app.get("/api/v1/admin/users?active=false", &admin).await,
        200,
    )
    .await;
    assert_eq!(emails(&inactive), ["inactiva@energyapp.test"]);
    let found = json_of(app.get("/api/v1/admin/users?q=PERSONA1", &admin).await, 200).await;
    assert_eq!(emails(&found).len(), 10, "persona10..19");

    for query in [
        "sort=name",
        "limit=0",
        "cursor=zz",
        "active=maybe",
        "role=owner",
    ] {
        let res = app
            .get(&format!("/api/v1/admin/users?{query}"), &admin)
            .await;
        assert_eq!(error_code(res, 422).await, "validation_failed", "{query}");
    }

    // Counts: conversations and this month's tokens.
    let token = app
        .token("persona01@energyapp.test", "a-good-password-1")
        .await;
    chat(app, &token, "hola").await;
    chat(app, &token, "adiós").await;
    let found = json_of(
        app.get("/api/v1/admin/users?q=persona01@", &admin).await,
        200,
    )
    .await;
    let row = &found["items"][0];
    assert_eq!(row["conversations"], 2);
    let list: Value = app.get_json("/api/v1/conversations", &token).await;
    let mut tokens = 0;
    for c in list["items"].as_array().unwrap() {
        let detail = app.conversation(c["id"].as_str().unwrap(), &token).await;
        for m in detail["messages"].as_array().unwrap() {
            tokens += m["meta"]["usage"]["prompt_tokens"].as_i64().unwrap_or(0)
                + m["meta"]["usage"]["completion_tokens"]
                    .as_i64()
                    .unwrap_or(0);
        }
    }
    assert!(tokens > 0);
    assert_eq!(row["tokens_this_month"], tokens);
}

async fn accounts_are_created_and_passwords_reset(app: &TestApp) {
    let admin = app.admin_token().await;
    let res = app
        .post_json(
            "/api/v1/admin/users",
            &admin,
            json!({ "email": "nueva@energyapp.test" }),
        )
        .await;
    let created = json_of(res, 201).await;
    assert_eq!(created["user"]["role"], "user");
    assert_eq!(created["user"]["active"], true);
    let generated = created["generated_password"].as_str().unwrap().to_string();
    assert!(generated.len() >= 12);
    let old_token = app.token("nueva@energyapp.test", &generated).await;

    for (body, status, code) in [
        (json!({ "email": "NUEVA@energyapp.test" }), 409, "conflict"),
        (
            json!({ "email": "no-es-un-correo" }),
            422,
            "validation_failed",
        ),
        (
            json!({ "email": "x@y.test", "password": "corta" }),
            422,
            "validation_failed",
        ),
        (
            json!({ "email": "x@y.test", "role": "root" }),
            422,
            "validation_failed",
        ),
    ] {
        let res = app.post_json("/api/v1/admin/users", &admin, body).await;
        assert_eq!(error_code(res, status).await, code);
    }

    let id = created["user"]["id"].as_str().unwrap();
    let path = format!("/api/v1/admin/users/{id}/reset-password");
    let reset = json_of(app.post_json(&path, &admin, json!({})).await, 200).await;
    let new_password = reset["generated_password"].as_str().unwrap();
    assert_ne!(new_password, generated);
    assert_eq!(
        app.get("/api/v1/me", &old_token).await.status(),
        401,
        "sessions ended"
    );
    assert_eq!(
        app.login("nueva@energyapp.test", &generated).await.status(),
        401
    );
    app.token("nueva@energyapp.test", new_password).await;

    let chosen = json_of(
        app.post_json(&path, &admin, json!({ "password": "elegida-por-admin" }))
            .await,
        200,
    )
    .await;
    assert_eq!(chosen["generated_password"], Value::Null);
    app.token("nueva@energyapp.test", "elegida-por-admin").await;
    let res = app
        .post_json(
            "/api/v1/admin/users/nobody/reset-password",
            &admin,
            json!({}),
        )
        .await;
    assert_eq!(error_code(res, 404).await, "not_found");
}

async fn admins_cannot_lock_themselves_out(app: &TestApp) {
    let admin = app.admin_token().await;
    let me: Value = app.get_json("/api/v1/me", &admin).await;
    let path = format!("/api/v1/admin/users/{}", me["id"].as_str().unwrap());
    for change in [json!({ "active": false }), json!({ "role": "user" })] {
        let res = app.patch_json(&path, &admin, change).await;
        assert_eq!(error_code(res, 409).await, "conflict");
    }
    // With a second admin, demoting that one works; the first stays the last admin.
    let other = create_user(app, &admin, "segunda@energyapp.test", "admin").await;
    let other_path = format!("/api/v1/admin/users/{}", other["id"].as_str().unwrap());
    let demoted = json_of(
        app.patch_json(&other_path, &admin, json!({ "role": "user" }))
            .await,
        200,
    )
    .await;
    assert_eq!(demoted["role"], "user");
    let res = app
        .patch_json(&path, &admin, json!({ "role": "user" }))
        .await;
    assert_eq!(error_code(res, 409).await, "conflict");
    let admins: Value = app
        .get_json("/api/v1/admin/users?role=admin&active=true", &admin)
        .await;
    assert_eq!(admins["items"].as_array().unwrap().len(), 1);
    let res = app
        .patch_json(
            "/api/v1/admin/users/nobody",
            &admin,
            json!({ "active": false }),
        )
        .await;
    assert_eq!(error_code(res, 404).await, "not_found");
}
