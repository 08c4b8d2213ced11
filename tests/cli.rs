//! The `yingji` binary as a user runs it.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn yingji() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_yingji"));
    c.env_remove("YINGJI_DB").env("YINGJI_LOG__LEVEL", "warn");
    c
}

#[test]
fn print_default_config_prints_a_file_that_serve_accepts() {
    let out = yingji().arg("print-default-config").output().expect("runs");
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).expect("utf8");
    assert!(text.contains("db = \"sqlite://yingji.db\""));
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("yingji.toml");
    std::fs::write(&path, text.replace("127.0.0.1:8080", "127.0.0.1:0")).expect("write");
    // An unknown key is refused with a message naming it.
    std::fs::write(dir.path().join("bad.toml"), "colour = \"red\"\n").expect("write");
    let out = yingji()
        .args(["--config"])
        .arg(dir.path().join("bad.toml"))
        .args(["user", "list"])
        .output()
        .expect("runs");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("colour"));
}

#[test]
fn users_are_added_listed_and_disabled_from_the_command_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = format!("sqlite://{}", dir.path().join("cli.db").display());
    let out = yingji()
        .args([
            "user",
            "add",
            "chen",
            "--role",
            "supervisor",
            "--password",
            "long-enough-1",
            "--db",
            &db,
        ])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = yingji()
        .args([
            "user",
            "add",
            "x",
            "--role",
            "pilot",
            "--password",
            "long-enough-1",
            "--db",
            &db,
        ])
        .output()
        .expect("runs");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown role pilot"));
    let out = yingji()
        .args([
            "user",
            "add",
            "wang",
            "--role",
            "town",
            "--password",
            "long-enough-1",
            "--db",
            &db,
        ])
        .output()
        .expect("runs");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("town_code"),
        "a town user needs its town"
    );
    // The password can come on standard input.
    let mut child = yingji()
        .args(["user", "passwd", "chen", "--db", &db])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    {
        use std::io::Write;
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(b"another-password\n")
            .expect("write");
    }
    assert!(child.wait().expect("wait").success());
    let out = yingji()
        .args(["user", "disable", "chen", "--db", &db])
        .output()
        .expect("runs");
    assert!(out.status.success());
    let out = yingji()
        .args(["user", "list", "--db", &db])
        .output()
        .expect("runs");
    let text = String::from_utf8(out.stdout).expect("utf8");
    assert!(
        text.lines()
            .any(|l| l.starts_with("chen") && l.contains("supervisor") && l.contains("disabled")),
        "{text}"
    );
}

#[test]
fn a_bad_import_file_lists_its_bad_rows_and_exits_non_zero() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = format!("sqlite://{}", dir.path().join("cli.db").display());
    // The demo seed gives the store its townships; a fresh store has none.
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let store = yingji::db::Db::connect(&db).await.expect("connect");
        yingji::demo::seed_if_empty(&store).await.expect("seed");
        store.close().await;
    });
    let csv = dir.path().join("bad.csv");
    std::fs::write(
        &csv,
        "统一社会信用代码,企业名称,镇街,行业门类\n123,甲,杨村街道,C\n",
    )
    .expect("write");
    let out = yingji()
        .args(["import", "enterprises"])
        .arg(&csv)
        .args(["--db", &db])
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 2: credit_code"), "{err}");
    let xlsx = dir.path().join("all.xlsx");
    let out = yingji()
        .args(["export", "facilities", "--format", "xlsx", "-o"])
        .arg(&xlsx)
        .args(["--db", &db])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = yingji()
        .args(["import", "facilities"])
        .arg(&xlsx)
        .args(["--db", &db])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("0 inserted"),
        "an export imports back as updates"
    );
}

#[cfg(unix)]
#[test]
fn serve_stops_gracefully_on_sigterm() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let mut child = yingji()
        .args(["serve", "--bind", &format!("127.0.0.1:{port}"), "--db"])
        .arg(format!("sqlite://{}", dir.path().join("s.db").display()))
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .spawn()
        .expect("spawn");
    let started = Instant::now();
    loop {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "server did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill")
            .success()
    );
    let status = child.wait().expect("wait");
    assert!(status.success(), "exit after SIGTERM: {status:?}");
}

#[test]
fn rules_gb18218_reads_standard_input_and_prints_the_grade() {
    let mut child = yingji()
        .args(["rules", "gb18218", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    {
        use std::io::Write;
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(r#"{"exposed_population": 60, "substances": [{"name": "二氧化硫", "quantity_t": 200}]}"#.as_bytes())
            .expect("write");
    }
    let out = child.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    // The published exam answer: R = 1.5 × 2 × 200/20 = 30, grade 3.
    assert_eq!(v["r"], 30.0);
    assert_eq!(v["grade"], 3);
    let out = yingji()
        .args(["rules", "gb18218", "/no/such/file.json"])
        .output()
        .expect("runs");
    assert!(!out.status.success());
}

#[test]
fn token_create_prints_a_working_ingest_token() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = format!("sqlite://{}", dir.path().join("cli.db").display());
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let (store, enterprise_id, credit_code) = rt.block_on(async {
        let store = yingji::db::Db::connect(&db).await.expect("connect");
        let units = yingji::demo::generator::demo_admin_units().expect("units");
        let mut tx = store.begin().await.expect("begin");
        for u in &units {
            yingji::registry::store::upsert_unit(&mut tx, u, None)
                .await
                .expect("unit");
        }
        let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(1);
        let credit_code = yingji::registry::credit_code::generate(&mut rng, "120114")
            .as_str()
            .to_string();
        let e: yingji::registry::model::EnterpriseInput =
            serde_json::from_value(serde_json::json!({
                "credit_code": credit_code, "name": "甲化工有限公司", "town_code": "120114001",
                "industry_section": "C", "industry_division": "26", "scale": "above",
                "flags": ["hazchem_storage"]
            }))
            .expect("enterprise");
        let id = yingji::db::new_id();
        yingji::registry::store::insert_enterprise(&mut tx, &id, &e)
            .await
            .expect("enterprise");
        tx.commit().await.expect("commit");
        (store, id, credit_code)
    });
    let out = yingji()
        .args([
            "token",
            "create",
            "--enterprise",
            &credit_code,
            "--name",
            "东门网关",
        ])
        .args(["--db", &db])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout)
        .expect("utf8")
        .trim()
        .to_string();
    assert!(
        token.starts_with("yjg_"),
        "only the token on stdout: {token}"
    );
    rt.block_on(async {
        let of = yingji::monitor::sensors::enterprise_of_token(&store, &token)
            .await
            .expect("db");
        assert_eq!(of, Some(enterprise_id));
        store.close().await;
    });
    let out = yingji()
        .args(["token", "create", "--enterprise", "nobody"])
        .args(["--db", &db])
        .output()
        .expect("runs");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nobody"));
}
