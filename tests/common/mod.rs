//! Test harness: a fresh database per test on each backend, the real server on a random port,
//! and a typed client.
#![allow(dead_code)]

use std::net::SocketAddr;

use serde_json::{Value, json};
use yingji::app::Application;
use yingji::audit::Actor;
use yingji::auth::Role;
use yingji::auth::routes::CreateUser;
use yingji::config::Settings;
use yingji::db::Db;
use yingji::registry::model::{EnterpriseInput, FacilityInput, FacilityKind, HazardFlag, Scale};
use yingji::registry::store;

pub const PASSWORD: &str = "test-password-1";
pub const TOWN_A: &str = "120114001"; // 杨村街道
pub const TOWN_B: &str = "120114002"; // 下朱庄街道

/// A database for one test: a temporary SQLite file, or a fresh schema on the PostgreSQL
/// server named by `YINGJI_TEST_PG`.
pub struct TestDb {
    pub name: &'static str,
    pub url: String,
    pub db: Db,
    _dir: Option<tempfile::TempDir>,
    schema: Option<String>,
}

impl TestDb {
    pub async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}", dir.path().join("test.db").display());
        let db = Db::connect(&url).await.expect("sqlite connects");
        TestDb {
            name: "sqlite",
            url,
            db,
            _dir: Some(dir),
            schema: None,
        }
    }

    pub async fn postgres(base: &str) -> TestDb {
        let schema = format!("t_{}", yingji::db::new_id());
        let admin = Db::connect_without_migrating(base, None)
            .await
            .expect("postgres connects");
        admin
            .execute(&yingji::db::Sql::new(format!("CREATE SCHEMA {schema}")))
            .await
            .expect("create schema");
        admin.close().await;
        let db = Db::connect_without_migrating(base, Some(&schema))
            .await
            .expect("postgres connects");
        db.migrate().await.expect("migrations run");
        TestDb {
            name: "postgres",
            url: base.to_string(),
            db,
            _dir: None,
            schema: Some(schema),
        }
    }

    /// A second connection pool to the same database (a restarted server closes its pool).
    pub async fn reopen(&self) -> Db {
        match &self.schema {
            None => Db::connect(&self.url).await.expect("sqlite reconnects"),
            Some(schema) => Db::connect_without_migrating(&self.url, Some(schema))
                .await
                .expect("postgres reconnects"),
        }
    }

    /// Drops the PostgreSQL schema; SQLite files go with their temporary directory.
    pub async fn cleanup(self) {
        self.db.close().await;
        if let Some(schema) = self.schema
            && let Ok(admin) = Db::connect_without_migrating(&self.url, None).await
        {
            let drop = yingji::db::Sql::new(format!("DROP SCHEMA {schema} CASCADE"));
            let _ = admin.execute(&drop).await;
            admin.close().await;
        }
    }
}

/// SQLite always; PostgreSQL too when `YINGJI_TEST_PG` holds a URL.
pub async fn backends() -> Vec<TestDb> {
    let mut v = vec![TestDb::sqlite().await];
    if let Ok(url) = std::env::var("YINGJI_TEST_PG")
        && !url.is_empty()
    {
        v.push(TestDb::postgres(&url).await);
    }
    v
}

/// Runs `f` once per backend.
#[macro_export]
macro_rules! each_backend {
    (|$db:ident| $body:block) => {
        for $db in common::backends().await {
            let backend_name = $db.name;
            eprintln!("-- backend {backend_name}");
            $body
            $db.cleanup().await;
        }
    };
}

/// The demo district's administrative units (real codes and names, generated areas).
pub async fn seed_units(db: &Db) {
    let units = yingji::demo::generator::demo_admin_units().expect("demo units");
    let mut tx = db.begin().await.expect("begin");
    for u in &units {
        store::upsert_unit(&mut tx, u, Some(1.0))
            .await
            .expect("unit");
    }
    tx.commit().await.expect("commit");
}

pub fn credit_code(n: u64) -> String {
    use rand::SeedableRng;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(n);
    yingji::registry::credit_code::generate(&mut rng, "120114")
        .as_str()
        .to_string()
}

pub fn enterprise_input(n: u64, town: &str, name: &str) -> EnterpriseInput {
    EnterpriseInput {
        credit_code: credit_code(n),
        name: name.to_string(),
        town_code: town.to_string(),
        address: format!("天津市武清区测试路{n}号"),
        lon: Some(117.05),
        lat: Some(39.37),
        industry_section: "C".into(),
        industry_division: Some("26".into()),
        scale: Scale::Above,
        staff_count: Some(100 + n as i64),
        legal_rep: "张三".into(),
        safety_manager: "李四".into(),
        safety_phone: "13800000000".into(),
        flags: vec![HazardFlag::HazchemStorage],
    }
}

pub fn facility_input(town: &str, name: &str) -> FacilityInput {
    FacilityInput {
        name: name.to_string(),
        kind: FacilityKind::School,
        town_code: town.to_string(),
        address: "天津市武清区".into(),
        lon: Some(117.05),
        lat: Some(39.37),
        people: Some(800),
    }
}

pub async fn insert_enterprise(db: &Db, e: &EnterpriseInput) -> String {
    let id = yingji::db::new_id();
    let mut tx = db.begin().await.expect("begin");
    store::insert_enterprise(&mut tx, &id, e)
        .await
        .expect("insert enterprise");
    tx.commit().await.expect("commit");
    id
}

/// The fixture most API tests use: units, two enterprises in town A, one in town B, a
/// facility in each town, and one account per role (town user in A, enterprise user of A1).
pub struct Fixture {
    pub a1: String,
    pub a2: String,
    pub b1: String,
    pub fac_a: String,
    pub fac_b: String,
}

pub async fn seed_fixture(db: &Db) -> Fixture {
    seed_units(db).await;
    let a1 = insert_enterprise(db, &enterprise_input(1, TOWN_A, "甲一化工有限公司")).await;
    let a2 = insert_enterprise(db, &enterprise_input(2, TOWN_A, "甲二物流有限公司")).await;
    let b1 = insert_enterprise(db, &enterprise_input(3, TOWN_B, "乙一化工有限公司")).await;
    let mut ids = Vec::new();
    for (town, name) in [(TOWN_A, "甲镇中心小学"), (TOWN_B, "乙镇中心小学")] {
        let id = yingji::db::new_id();
        let mut tx = db.begin().await.expect("begin");
        store::insert_facility(&mut tx, &id, &facility_input(town, name))
            .await
            .expect("facility");
        tx.commit().await.expect("commit");
        ids.push(id);
    }
    for role in Role::ALL {
        let req = CreateUser {
            username: role.key().to_string(),
            display_name: String::new(),
            password: PASSWORD.into(),
            role,
            town_code: (role == Role::Town).then(|| TOWN_A.to_string()),
            enterprise_id: (role == Role::Enterprise).then(|| a1.clone()),
        };
        yingji::auth::routes::create_user(db, &Actor::system("test"), req)
            .await
            .expect("user");
    }
    Fixture {
        a1,
        a2,
        b1,
        fac_a: ids[0].clone(),
        fac_b: ids[1].clone(),
    }
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    /// The monitoring service: tests drive its clock with `tick(now_ms)`.
    pub monitor: std::sync::Arc<yingji::monitor::ingest::Monitor>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    running: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl TestApp {
    pub async fn spawn(db: &Db) -> TestApp {
        let mut settings = Settings {
            bind: "127.0.0.1:0".into(),
            data_dir: std::env::temp_dir().join(format!("yingji-test-{}", yingji::db::new_id())),
            ..Settings::default()
        };
        // No warning dispatcher unless a test opts in (`spawn_with` and a `tick_ms`): tests
        // drive `Dispatcher::run_once` with their own clock.
        settings.dissemination.tick_ms = 0;
        TestApp::spawn_with(db, settings).await
    }

    /// Settings for a test server whose alarm clock only moves when the test calls `tick`.
    pub fn manual_clock_settings() -> Settings {
        let mut settings = Settings {
            bind: "127.0.0.1:0".into(),
            data_dir: std::env::temp_dir().join(format!("yingji-test-{}", yingji::db::new_id())),
            ..Settings::default()
        };
        settings.monitor.tick_ms = 0;
        settings.dissemination.tick_ms = 0;
        settings
    }

    pub async fn spawn_with(db: &Db, settings: Settings) -> TestApp {
        // Server logs show up with a failing test's output (and only then).
        let _ = tracing_subscriber::fmt()
            .with_env_filter(
                std::env::var("YINGJI_TEST_LOG").unwrap_or_else(|_| "yingji=warn".into()),
            )
            .with_test_writer()
            .try_init();
        let app = Application::build_with_db(settings, db.clone())
            .await
            .expect("app builds");
        let addr = app.local_addr().expect("addr");
        let monitor = app.monitor();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let running = tokio::spawn(app.run_until_stopped(async move {
            let _ = rx.await;
        }));
        TestApp {
            addr,
            client: reqwest::Client::builder().build().expect("client"),
            monitor,
            shutdown: Some(tx),
            running: Some(running),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub async fn login(&self, username: &str) -> String {
        let r = self.post_login(username, PASSWORD).await;
        assert_eq!(r.status(), 200, "login of {username}");
        let v: Value = r.json().await.expect("json");
        v["token"].as_str().expect("token").to_string()
    }

    pub async fn post_login(&self, username: &str, password: &str) -> reqwest::Response {
        self.client
            .post(self.url("/api/v1/auth/login"))
            .json(&json!({"username": username, "password": password}))
            .send()
            .await
            .expect("request")
    }

    pub async fn get(&self, token: &str, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request")
    }

    pub async fn get_json(&self, token: &str, path: &str) -> (u16, Value) {
        let r = self.get(token, path).await;
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn send_json(
        &self,
        method: reqwest::Method,
        token: &str,
        path: &str,
        body: &Value,
    ) -> (u16, Value) {
        let r = self
            .client
            .request(method, self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .expect("request");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn upload(
        &self,
        token: &str,
        path: &str,
        file_name: &str,
        bytes: Vec<u8>,
    ) -> (u16, Value) {
        let part = reqwest::multipart::Part::bytes(bytes).file_name(file_name.to_string());
        let form = reqwest::multipart::Form::new().part("file", part);
        let r = self
            .client
            .post(self.url(path))
            .bearer_auth(token)
            .multipart(form)
            .send()
            .await
            .expect("request");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// Shuts the server down and waits until it has stopped (its pool is closed then).
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(running) = self.running.take() {
            let _ = running.await;
        }
    }
}

/// A level sensor (range 0–20 m) of an enterprise; returns its id and compact number.
pub async fn seed_sensor(db: &Db, enterprise_id: &str, code: &str) -> (String, i64) {
    let input: yingji::monitor::sensors::SensorInput = serde_json::from_value(json!({
        "enterprise_id": enterprise_id, "code": code, "kind": "level", "unit_of_measure": "m",
        "range_min": 0, "range_max": 20, "h": 16, "hh": 18,
    }))
    .expect("sensor input");
    let id = yingji::db::new_id();
    let mut tx = db.begin().await.expect("begin");
    let num = yingji::monitor::sensors::insert(&mut tx, &id, &input)
        .await
        .expect("sensor");
    tx.commit().await.expect("commit");
    (id, num)
}

/// An ingest token of an enterprise's gateway.
pub async fn ingest_token(db: &Db, enterprise_id: &str) -> String {
    let mut tx = db.begin().await.expect("begin");
    let (token, _) = yingji::monitor::sensors::create_token(&mut tx, enterprise_id, "test gateway")
        .await
        .expect("token");
    tx.commit().await.expect("commit");
    token
}
