//! Builds the web UI (`web/`, Vue + Vite) into `$OUT_DIR/web-dist`, where
//! `src/web.rs` embeds it into the binary.
//!
//! Why from `build.rs`: one `cargo build` gives a complete `yingji` binary, as
//! martin does with its UI. The price is a Node toolchain at build time, so the
//! build degrades instead of failing where Node is absent: without `npm` (or with
//! `YINGJI_SKIP_WEB_BUILD=1`) the binary is built with an empty UI folder and
//! serves a page that says how to build the UI. With `npm` present, a failing UI
//! build fails the cargo build: a broken UI must not ship silently.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

/// Inputs of the UI build; a change to any of them re-runs this script.
const WATCHED: &[&str] = &[
    "web/src",
    "web/index.html",
    "web/package.json",
    "web/package-lock.json",
    "web/vite.config.ts",
    "web/tsconfig.json",
    "web/public",
];

fn main() {
    for path in WATCHED {
        println!("cargo:rerun-if-changed={path}");
    }
    println!("cargo:rerun-if-env-changed=YINGJI_SKIP_WEB_BUILD");

    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let web_dir = manifest_dir.join("web");
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR")).join("web-dist");

    if env::var("YINGJI_SKIP_WEB_BUILD").is_ok_and(|v| v == "1" || v.eq_ignore_ascii_case("true")) {
        warn(
            "YINGJI_SKIP_WEB_BUILD is set: the web UI is not built; the binary serves a placeholder page",
        );
        empty_dist(&out_dir);
        return;
    }
    if !web_dir.join("package.json").exists() {
        warn("web/package.json not found: the web UI is not built");
        empty_dist(&out_dir);
        return;
    }
    let npm = if cfg!(windows) { "npm.cmd" } else { "npm" };
    let npx = if cfg!(windows) { "npx.cmd" } else { "npx" };
    if !command_works(npm) {
        warn(
            "npm not found: the web UI is not built; the binary serves a placeholder page. \
             Install Node.js >= 20.19 (with npm) and rebuild to embed the UI",
        );
        empty_dist(&out_dir);
        return;
    }

    if needs_install(&web_dir) {
        run(
            Command::new(npm)
                .args(["ci", "--no-audit", "--no-fund"])
                .current_dir(&web_dir),
            "npm ci (installing the web UI's dependencies)",
        );
    }
    run(
        Command::new(npx)
            .args([
                "--no",
                "--",
                "vite",
                "build",
                "--emptyOutDir",
                "--logLevel",
                "warn",
                "--outDir",
            ])
            .arg(&out_dir)
            .current_dir(&web_dir)
            // Keeps generated type declarations out of web/src, which would otherwise
            // re-trigger this script on every build (see vite.config.ts).
            .env("YINGJI_CARGO_BUILD", "1"),
        "vite build (building the web UI)",
    );
    if !out_dir.join("index.html").exists() {
        fail(&format!(
            "vite build finished but {} has no index.html",
            out_dir.display()
        ));
    }
}

fn warn(msg: &str) {
    println!("cargo:warning={msg}");
}

fn fail(msg: &str) -> ! {
    eprintln!("\nerror: building the web UI failed: {msg}");
    eprintln!(
        "hint: fix the UI build (cd web && npm ci && npx vite build), or set YINGJI_SKIP_WEB_BUILD=1 to build the binary without the UI\n"
    );
    std::process::exit(1);
}

fn empty_dist(out_dir: &Path) {
    if out_dir.exists() {
        // A previous build may have left a UI there; a skipped build must not embed a stale one.
        let _ = fs::remove_dir_all(out_dir);
    }
    fs::create_dir_all(out_dir)
        .unwrap_or_else(|e| fail(&format!("cannot create {}: {e}", out_dir.display())));
}

fn command_works(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// `npm ci` is slow and wipes `node_modules`, so it runs only when the dependencies
/// are missing or the lock file changed since the last install. npm records each
/// install in `node_modules/.package-lock.json`.
fn needs_install(web_dir: &Path) -> bool {
    let installed = web_dir.join("node_modules/.package-lock.json");
    let (Some(installed_at), Some(locked_at)) =
        (mtime(&installed), mtime(&web_dir.join("package-lock.json")))
    else {
        return true;
    };
    locked_at > installed_at || !web_dir.join("node_modules/.bin").exists()
}

fn mtime(path: &Path) -> Option<SystemTime> {
    fs::metadata(path).and_then(|m| m.modified()).ok()
}

fn run(cmd: &mut Command, what: &str) {
    match cmd.status() {
        Ok(status) if status.success() => {}
        Ok(status) => fail(&format!("{what} exited with {status}")),
        Err(e) => fail(&format!("{what} could not start: {e}")),
    }
}
