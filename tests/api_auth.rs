//! Accounts, sessions, roles and scopes through the real HTTP API, on every backend.

mod common;

use reqwest::Method;
use serde_json::{Value, json};

#[tokio::test]
async fn login_gives_a_bearer_token_and_a_session_cookie_and_logout_ends_them() {
    each_backend!(|t| {
        common::seed_fixture(&t.db).await;
        let app = common::TestApp::spawn(&t.db).await;
        let r = app.post_login("admin", common::PASSWORD).await;
        assert_eq!(r.status(), 200);
        let cookie = r.headers().get("set-cookie").expect("cookie").to_str().expect("ascii").to_string();
        assert!(cookie.starts_with("yingji_session="));
        assert!(cookie.contains("HttpOnly"));
        assert!(cookie.contains("SameSite=Strict"));
        let body: Value = r.json().await.expect("json");
        assert_eq!(body["user"]["role"], "admin");
        let token = body["token"].as_str().expect("token").to_string();

        let (s, me) = app.get_json(&token, "/api/v1/me").await;
        assert_eq!((s, me["username"].as_str()), (200, Some("admin")));

        // The cookie alone authenticates too (what the UI uses).
        let cookie_pair = cookie.split(';').next().expect("pair").to_string();
        let r = app.client.get(app.url("/api/v1/me")).header("cookie", &cookie_pair).send().await.expect("req");
        assert_eq!(r.status(), 200);

        let r = app.client.post(app.url("/api/v1/auth/logout")).bearer_auth(&token).send().await.expect("req");
        assert_eq!(r.status(), 204);
        let (s, body) = app.get_json(&token, "/api/v1/me").await;
        assert_eq!(s, 401);
        assert_eq!(body["error"]["code"], "unauthorized");
        app.stop().await;
    });
}

#[tokio::test]
async fn a_wrong_password_is_401_and_repeated_failures_lock_the_account() {
    each_backend!(|t| {
        common::seed_fixture(&t.db).await;
        let mut settings = yingji::config::Settings { bind: "127.0.0.1:0".into(), ..Default::default() };
        // No slowing down in the test: the lock is what is checked here.
        settings.auth.slow_after_failures = 100;
        settings.auth.lock_after_failures = 3;
        let app = common::TestApp::spawn_with(&t.db, settings).await;
        for _ in 0..2 {
            let r = app.post_login("duty", "wrong-password").await;
            assert_eq!(r.status(), 401);
            let v: Value = r.json().await.expect("json");
            assert_eq!(v["error"]["code"], "invalid_credentials");
        }
        let r = app.post_login("duty", "wrong-password").await;
        assert_eq!(r.status(), 429, "the third failure locks");
        // While locked even the right password is refused.
        let r = app.post_login("duty", common::PASSWORD).await;
        assert_eq!(r.status(), 429);
        let v: Value = r.json().await.expect("json");
        assert_eq!(v["error"]["code"], "locked");
        // Unknown users get the same answer as wrong passwords.
        let r = app.post_login("nobody", "whatever-password").await;
        assert_eq!(r.status(), 401);
        // The administrator's password reset unlocks.
        let admin = app.login("admin").await;
        let (_, users) = app.get_json(&admin, "/api/v1/users?limit=100").await;
        let duty_id = users["items"].as_array().expect("items").iter().find(|u| u["username"] == "duty").expect("duty")["id"]
            .as_str().expect("id").to_string();
        let (s, _) = app.send_json(Method::PATCH, &admin, &format!("/api/v1/users/{duty_id}"), &json!({"password": "new-password-2"})).await;
        assert_eq!(s, 200);
        assert_eq!(app.post_login("duty", "new-password-2").await.status(), 200);
        app.stop().await;
    });
}

#[tokio::test]
async fn a_disabled_account_cannot_log_in_and_loses_its_sessions() {
    each_backend!(|t| {
        common::seed_fixture(&t.db).await;
        let app = common::TestApp::spawn(&t.db).await;
        let admin = app.login("admin").await;
        let leader = app.login("leader").await;
        let u = yingji::auth::store::get_user_by_name(&t.db, "leader").await.expect("db").expect("leader");
        let (s, _) = app.send_json(Method::PATCH, &admin, &format!("/api/v1/users/{}", u.id), &json!({"disabled": true})).await;
        assert_eq!(s, 200);
        assert_eq!(app.get(&leader, "/api/v1/me").await.status(), 401);
        assert_eq!(app.post_login("leader", common::PASSWORD).await.status(), 401);
        app.stop().await;
    });
}

#[tokio::test]
async fn every_route_except_the_declared_public_ones_requires_a_login() {
    let t = common::TestDb::sqlite().await;
    let app = common::TestApp::spawn(&t.db).await;
    let doc: Value = app.client.get(app.url("/api/v1/openapi.json")).send().await.expect("req").json().await.expect("json");
    let paths = doc["paths"].as_object().expect("paths");
    assert!(paths.len() >= 20, "the document lists the routes");
    let mut checked = 0;
    for (path, ops) in paths {
        for method in ops.as_object().expect("ops").keys() {
            let concrete = path.replace("{id}", "x").replace("{code}", "120114001");
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
            let r = app.client.request(m, app.url(&concrete)).send().await.expect("req");
            if yingji::app::PUBLIC_ROUTES.contains(&path.as_str()) {
                assert_ne!(r.status(), 401, "{method} {path} is public");
            } else {
                assert_eq!(r.status(), 401, "{method} {path} must require a login");
                let v: Value = r.json().await.expect("json error body");
                assert_eq!(v["error"]["code"], "unauthorized");
            }
            checked += 1;
        }
    }
    assert!(checked >= 25);
    app.stop().await;
}

#[tokio::test]
async fn the_openapi_document_lists_every_route_of_the_foundation() {
    let t = common::TestDb::sqlite().await;
    let app = common::TestApp::spawn(&t.db).await;
    let doc: Value = app.client.get(app.url("/api/v1/openapi.json")).send().await.expect("req").json().await.expect("json");
    assert!(doc["openapi"].as_str().expect("version").starts_with("3.1"));
    let expected = [
        ("/healthz", "get"), ("/metrics", "get"),
        ("/api/v1/auth/login", "post"), ("/api/v1/auth/logout", "post"), ("/api/v1/me", "get"), ("/api/v1/meta", "get"),
        ("/api/v1/users", "get"), ("/api/v1/users", "post"), ("/api/v1/users/{id}", "get"), ("/api/v1/users/{id}", "patch"),
        ("/api/v1/audit", "get"),
        ("/api/v1/admin-units", "get"), ("/api/v1/admin-units/{code}", "get"), ("/api/v1/admin-units/boundaries", "put"),
        ("/api/v1/enterprises", "get"), ("/api/v1/enterprises", "post"), ("/api/v1/enterprises/{id}", "get"),
        ("/api/v1/enterprises/{id}", "put"), ("/api/v1/enterprises/{id}", "delete"), ("/api/v1/enterprises/import", "post"),
        ("/api/v1/enterprises/export", "get"),
        ("/api/v1/facilities", "get"), ("/api/v1/facilities", "post"), ("/api/v1/facilities/{id}", "get"),
        ("/api/v1/facilities/{id}", "put"), ("/api/v1/facilities/{id}", "delete"), ("/api/v1/facilities/import", "post"),
        ("/api/v1/facilities/export", "get"),
        ("/api/v1/map/district", "get"), ("/api/v1/map/admin-units", "get"), ("/api/v1/map/enterprises", "get"),
        ("/api/v1/map/facilities", "get"),
    ];
    for (path, method) in expected {
        let op = &doc["paths"][path][method];
        assert!(op.is_object(), "{method} {path} is documented");
        assert!(op["responses"].as_object().is_some_and(|r| !r.is_empty()), "{method} {path} documents its responses");
    }
    assert!(doc["components"]["schemas"]["ErrorBody"].is_object(), "the error shape is documented");
    let docs = app.client.get(app.url("/api/docs/")).send().await.expect("req");
    assert_eq!(docs.status(), 200, "the human-readable docs page is served");
    app.stop().await;
}

#[tokio::test]
async fn health_and_metrics_answer_and_metrics_are_labelled_by_route_pattern() {
    let t = common::TestDb::sqlite().await;
    common::seed_fixture(&t.db).await;
    let app = common::TestApp::spawn(&t.db).await;
    let h: Value = app.client.get(app.url("/healthz")).send().await.expect("req").json().await.expect("json");
    assert_eq!(h["status"], "ok");
    let token = app.login("admin").await;
    let (s, _) = app.get_json(&token, &format!("/api/v1/enterprises/{}", "does-not-exist")).await;
    assert_eq!(s, 404);
    let text = app.client.get(app.url("/metrics")).send().await.expect("req").text().await.expect("text");
    assert!(text.contains("yingji_http_requests_total"), "{text}");
    assert!(text.contains("route=\"/api/v1/enterprises/{id}\""), "labelled by pattern, not raw path: {text}");
    assert!(!text.contains("does-not-exist"));
    app.stop().await;
}

#[tokio::test]
async fn unknown_api_paths_and_bad_json_get_json_errors() {
    let t = common::TestDb::sqlite().await;
    common::seed_fixture(&t.db).await;
    let app = common::TestApp::spawn(&t.db).await;
    let r = app.client.get(app.url("/api/v1/no-such-thing")).send().await.expect("req");
    assert_eq!(r.status(), 404);
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["error"]["code"], "not_found");
    let r = app.client.post(app.url("/api/v1/auth/login")).header("content-type", "application/json").body("{not json").send().await.expect("req");
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["error"]["code"], "bad_request");
    app.stop().await;
}
