//! The admin API: users (filters, sort, pages, create, activate, role, reset password, guard
//! rails), every user's conversations read-only, usage sums, and the audit trail.

use std::collections::HashSet;

use serde_json::{Value, json};

use crate::{
    common::{ADMIN_EMAIL, ADMIN_PASSWORD, TestApp, error_code, read_events},
    on_both_backends,
};

on_both_backends!(
    non_admins_are_refused_on_every_admin_route,
    users_are_filtered_sorted_and_paged,
    accounts_are_created_and_passwords_reset,
    admins_cannot_lock_themselves_out,
    every_admin_action_is_audited,
    conversations_of_everyone_are_listed_and_read_only,
    usage_equals_the_sums_of_the_stored_answers,
);

async fn json_of(res: reqwest::Response, status: u16) -> Value {
    assert_eq!(res.status(), status);
    res.json().await.unwrap()
}

async fn create_user(app: &TestApp, token: &str, email: &str, role: &str) -> Value {
    let res = app
        .post_json(
            "/api/v1/admin/users",
            token,
            json!({ "email": email, "role": role, "password": "a-good-password-1" }),
        )
        .await;
    json_of(res, 201).await["user"].clone()
}

async fn chat(app: &TestApp, token: &str, message: &str) -> Value {
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

async fn non_admins_are_refused_on_every_admin_route(app: &TestApp) {
    let user = app.user_token("persona@test.local").await;
    let doc: Value = app
        .http
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
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
    let list: Value = app
        .get("/api/v1/conversations", &token)
        .await
        .json()
        .await
        .unwrap();
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
    let me: Value = app.get("/api/v1/me", &admin).await.json().await.unwrap();
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
        .get("/api/v1/admin/users?role=admin&active=true", &admin)
        .await
        .json()
        .await
        .unwrap();
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
    let me: Value = app.get("/api/v1/me", &admin).await.json().await.unwrap();
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

async fn conversations_of_everyone_are_listed_and_read_only(app: &TestApp) {
    let admin = app.admin_token().await;
    create_user(app, &admin, "ana@energyapp.test", "user").await;
    create_user(app, &admin, "luis@energyapp.test", "user").await;
    let ana = app.token("ana@energyapp.test", "a-good-password-1").await;
    let luis = app.token("luis@energyapp.test", "a-good-password-1").await;
    chat(app, &ana, "Consulta sobre la tarifa nocturna").await;
    let removed = chat(app, &ana, "borrar esto").await;
    chat(app, &luis, "Paneles solares [sim fault=error_mid:3]").await;
    let removed_id = removed["conversation_id"].as_str().unwrap();
    assert_eq!(
        app.delete(&format!("/api/v1/conversations/{removed_id}"), &ana)
            .await
            .status(),
        204
    );

    let all = json_of(app.get("/api/v1/admin/conversations", &admin).await, 200).await;
    let items = all["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    let deleted: Vec<&Value> = items.iter().filter(|c| c["status"] == "deleted").collect();
    assert_eq!(deleted.len(), 1);
    assert_eq!(deleted[0]["owner_email"], "ana@energyapp.test");
    assert!(items.iter().all(|c| c["messages"] == 2));

    let ana_id = deleted[0]["user_id"].as_str().unwrap();
    let by_user = json_of(
        app.get(
            &format!("/api/v1/admin/conversations?user_id={ana_id}"),
            &admin,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(by_user["items"].as_array().unwrap().len(), 2);
    let only_deleted = json_of(
        app.get("/api/v1/admin/conversations?status=deleted", &admin)
            .await,
        200,
    )
    .await;
    assert_eq!(only_deleted["items"][0]["id"], removed_id);
    // Text in a message (not in the title) finds the conversation.
    let luis_answer_word = "solares";
    let found = json_of(
        app.get(
            &format!("/api/v1/admin/conversations?q={luis_answer_word}"),
            &admin,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(found["items"].as_array().unwrap().len(), 1);
    assert_eq!(found["items"][0]["owner_email"], "luis@energyapp.test");
    let found = json_of(
        app.get("/api/v1/admin/conversations?q=NOCTURNA", &admin)
            .await,
        200,
    )
    .await;
    assert_eq!(found["items"].as_array().unwrap().len(), 1);
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let ranged = json_of(
        app.get(
            &format!("/api/v1/admin/conversations?from={today}&to={today}"),
            &admin,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(ranged["items"].as_array().unwrap().len(), 3);
    let before = json_of(
        app.get("/api/v1/admin/conversations?to=2000-01-01", &admin)
            .await,
        200,
    )
    .await;
    assert!(before["items"].as_array().unwrap().is_empty());
    let paged = json_of(
        app.get("/api/v1/admin/conversations?limit=2", &admin).await,
        200,
    )
    .await;
    let next = paged["next_cursor"].as_str().unwrap();
    let rest = json_of(
        app.get(
            &format!("/api/v1/admin/conversations?limit=2&cursor={next}"),
            &admin,
        )
        .await,
        200,
    )
    .await;
    let ids: HashSet<String> = paged["items"]
        .as_array()
        .unwrap()
        .iter()
        .chain(rest["items"].as_array().unwrap())
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 3);
    for query in ["status=archived", "from=25-11-2026", "limit=500"] {
        let res = app
            .get(&format!("/api/v1/admin/conversations?{query}"), &admin)
            .await;
        assert_eq!(error_code(res, 422).await, "validation_failed", "{query}");
    }

    // The failed answer is shown with its status and error; the deleted one is still readable.
    let failed_id = found_id(
        &json_of(
            app.get("/api/v1/admin/conversations?q=solares", &admin)
                .await,
            200,
        )
        .await,
    );
    let detail = json_of(
        app.get(&format!("/api/v1/admin/conversations/{failed_id}"), &admin)
            .await,
        200,
    )
    .await;
    let answer = &detail["messages"][1];
    assert_eq!(answer["status"], "failed");
    assert_eq!(answer["meta"]["error"]["code"], "ollama_error");
    let detail = json_of(
        app.get(&format!("/api/v1/admin/conversations/{removed_id}"), &admin)
            .await,
        200,
    )
    .await;
    assert_eq!(detail["conversation"]["status"], "deleted");
    let messages = json_of(
        app.get(
            &format!("/api/v1/admin/conversations/{removed_id}/messages"),
            &admin,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(messages["items"].as_array().unwrap().len(), 2);
    assert_eq!(
        messages["items"][1]["meta"]["usage"]["completion_tokens"],
        12
    );

    // Read-only: no way to change or delete through the admin API.
    let path = format!("/api/v1/admin/conversations/{failed_id}");
    for method in [
        reqwest::Method::PATCH,
        reqwest::Method::DELETE,
        reqwest::Method::POST,
    ] {
        let res = app
            .http
            .request(method.clone(), app.url(&path))
            .bearer_auth(&admin)
            .json(&json!({ "title": "x" }))
            .send()
            .await
            .unwrap();
        assert_eq!(error_code(res, 405).await, "method_not_allowed", "{method}");
    }
    // An admin is still just an owner on the user API: someone else's conversation is 404 there.
    let res = app
        .patch_json(
            &format!("/api/v1/conversations/{failed_id}"),
            &admin,
            json!({ "title": "x" }),
        )
        .await;
    assert_eq!(error_code(res, 404).await, "not_found");
    let res = app.get("/api/v1/admin/conversations/nope", &admin).await;
    assert_eq!(error_code(res, 404).await, "not_found");
}

fn found_id(page: &Value) -> String {
    page["items"][0]["id"].as_str().unwrap().to_string()
}

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
        let list: Value = app
            .get("/api/v1/conversations", token)
            .await
            .json()
            .await
            .unwrap();
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
    let _ = ADMIN_PASSWORD;
}
