//! The embedded web UI: the Vite build of `web/`, placed in `$OUT_DIR/web-dist` by
//! `build.rs` and compiled into the binary.
//!
//! The server merges [`router`] as its fallback, after the API routes, so this
//! module sees every request nothing else matched. It serves:
//! - `/assets/*`: hashed build outputs, cached for a year (`immutable`);
//! - other files at the root of the build (e.g. `/favicon.svg`), cached briefly;
//! - any other GET path: `index.html`, so that the UI's history-mode routes
//!   (`/enterprises/42`) survive a reload; never cached, so a new binary's UI
//!   is picked up at once;
//! - `/api/*`, `/healthz`, `/metrics`: a JSON 404 in the API's error format,
//!   never the UI, so a mistyped API path does not answer with HTML.
//!
//! When the UI was not built (no Node at build time), every UI path answers a
//! short page in Chinese and English saying how to build it.
//!
//! **Architecture invariant:** the routing decision ([`classify`]) is a pure
//! function of the path; the handler only looks files up.

use std::borrow::Cow;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

#[derive(rust_embed::RustEmbed)]
#[folder = "$OUT_DIR/web-dist"]
struct Dist;

/// Hashed build outputs never change under the same name.
const CACHE_IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Unhashed files at the root (favicon): short cache, revalidated.
const CACHE_SHORT: &str = "public, max-age=3600, must-revalidate";
/// The SPA entry point: always revalidated so a new build shows at once.
const CACHE_NONE: &str = "no-cache";

/// The router serving the UI; merge it as the fallback of the application router.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new().fallback(handle)
}

/// True when the binary carries a built UI.
pub fn ui_built() -> bool {
    Dist::get("index.html").is_some()
}

async fn handle(method: Method, uri: Uri, headers: HeaderMap) -> Response {
    respond(&method, uri.path(), &headers, &|p| {
        Dist::get(p).map(|f| Asset {
            data: f.data,
            hash: f.metadata.sha256_hash(),
        })
    })
}

/// One file of the build, as the handler needs it.
struct Asset {
    data: Cow<'static, [u8]>,
    hash: [u8; 32],
}

/// What a request path is, before any file is looked up.
#[derive(Debug, PartialEq, Eq)]
enum Target<'a> {
    /// A path the server owns (API, health, metrics) that no server route matched.
    ServerNotFound,
    /// A hashed build output under `/assets/`; a missing one is a 404.
    Asset(&'a str),
    /// The UI: a file at the root of the build if it exists, else `index.html`.
    /// `looks_like_file` is true when the last segment has a file extension, so a
    /// missing `/robots.txt` is a 404 rather than the UI.
    Page {
        file: &'a str,
        looks_like_file: bool,
    },
}

fn classify(path: &str) -> Target<'_> {
    let is_under = |prefix: &str| path == prefix || path.starts_with(&format!("{prefix}/"));
    if is_under("/api") || is_under("/healthz") || is_under("/metrics") {
        return Target::ServerNotFound;
    }
    let rel = path.trim_start_matches('/');
    if let Some(asset) = rel.strip_prefix("assets/") {
        return Target::Asset(asset);
    }
    let last = rel.rsplit('/').next().unwrap_or("");
    let looks_like_file = last.contains('.') && !last.starts_with('.') && !last.ends_with('.');
    Target::Page {
        file: rel,
        looks_like_file,
    }
}

fn respond(
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    lookup: &dyn Fn(&str) -> Option<Asset>,
) -> Response {
    let target = classify(path);
    if target == Target::ServerNotFound {
        return api_not_found(path);
    }
    if method != Method::GET && method != Method::HEAD {
        return (
            StatusCode::METHOD_NOT_ALLOWED,
            [(header::ALLOW, HeaderValue::from_static("GET, HEAD"))],
            "method not allowed",
        )
            .into_response();
    }
    // A `..` segment never names a build file; refuse it before any lookup.
    if path.split('/').any(|s| s == "..") {
        return plain_not_found();
    }
    let Some(index) = lookup("index.html") else {
        return not_built_page();
    };
    let head = method == Method::HEAD;
    match target {
        Target::ServerNotFound => unreachable!("handled above"),
        Target::Asset(rel) => match lookup(&format!("assets/{rel}")) {
            Some(asset) => file_response(path, asset, CACHE_IMMUTABLE, headers, head),
            None => plain_not_found(),
        },
        Target::Page {
            file,
            looks_like_file,
        } => {
            if !file.is_empty() && file != "index.html" {
                if let Some(asset) = lookup(file) {
                    return file_response(path, asset, CACHE_SHORT, headers, head);
                }
                if looks_like_file {
                    return plain_not_found();
                }
            }
            file_response("index.html", index, CACHE_NONE, headers, head)
        }
    }
}

fn file_response(
    name: &str,
    asset: Asset,
    cache: &'static str,
    req: &HeaderMap,
    head: bool,
) -> Response {
    let etag = format!("\"{}\"", hex::encode(&asset.hash[..16]));
    let mime = mime_guess::from_path(name).first_or_octet_stream();
    let mut res = if req
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"))
    {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let len = asset.data.len();
        let body = if head {
            Body::empty()
        } else {
            Body::from(asset.data)
        };
        let mut res = Response::new(body);
        res.headers_mut()
            .insert(header::CONTENT_LENGTH, HeaderValue::from(len));
        res
    };
    let h = res.headers_mut();
    let content_type = if mime.type_() == mime_guess::mime::TEXT
        || mime.essence_str() == "application/javascript"
    {
        format!("{}; charset=utf-8", mime.essence_str())
    } else {
        mime.essence_str().to_owned()
    };
    if let Ok(v) = HeaderValue::from_str(&content_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    res
}

fn api_not_found(path: &str) -> Response {
    let body = serde_json::json!({
        "error": { "code": "not_found", "message": format!("no such endpoint: {path}") }
    });
    (StatusCode::NOT_FOUND, axum::Json(body)).into_response()
}

fn plain_not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CACHE_CONTROL, CACHE_NONE)],
        "not found",
    )
        .into_response()
}

const NOT_BUILT_HTML: &str = r#"<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>应急 Yingji</title>
<style>body{font-family:system-ui,sans-serif;max-width:42rem;margin:4rem auto;padding:0 1rem;color:#1f2d3d;line-height:1.6}
h1{color:#0b2a55}code{background:#f2f4f7;padding:.1rem .3rem;border-radius:3px}</style></head>
<body>
<h1>应急 Yingji · 武清区应急管理综合平台</h1>
<p>本程序构建时未包含网页界面（构建机器上没有 Node.js，或设置了 <code>YINGJI_SKIP_WEB_BUILD=1</code>）。
API 照常可用：<a href="/api/docs">/api/docs</a>。</p>
<p>如需网页界面：安装 Node.js ≥ 20.19（含 npm），然后重新构建：<code>cargo build --release</code>。</p>
<hr>
<p>This binary was built without the web UI (Node.js was not available at build time,
or <code>YINGJI_SKIP_WEB_BUILD=1</code> was set). The API works as usual: <a href="/api/docs">/api/docs</a>.</p>
<p>To get the UI, install Node.js ≥ 20.19 (with npm) and rebuild: <code>cargo build --release</code>.</p>
</body></html>
"#;

fn not_built_page() -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, CACHE_NONE),
        ],
        NOT_BUILT_HTML,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn built() -> impl Fn(&str) -> Option<Asset> {
        let files: HashMap<&'static str, &'static [u8]> = HashMap::from([
            (
                "index.html",
                b"<!doctype html><div id=app></div>".as_slice(),
            ),
            ("assets/index-abc123.js", b"console.log(1)".as_slice()),
            ("assets/index-abc123.css", b"body{}".as_slice()),
            ("favicon.svg", b"<svg/>".as_slice()),
        ]);
        move |p| {
            files.get(p).map(|d| Asset {
                data: Cow::Borrowed(*d),
                hash: [7; 32],
            })
        }
    }

    fn get(path: &str, lookup: &dyn Fn(&str) -> Option<Asset>) -> Response {
        respond(&Method::GET, path, &HeaderMap::new(), lookup)
    }

    fn header(res: &Response, name: header::HeaderName) -> &str {
        res.headers()
            .get(name)
            .map(|v| v.to_str().unwrap())
            .unwrap_or("")
    }

    async fn body(res: Response) -> String {
        let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
            .await
            .unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[test]
    fn server_paths_are_never_the_ui() {
        assert_eq!(classify("/api"), Target::ServerNotFound);
        assert_eq!(classify("/api/v1/nope"), Target::ServerNotFound);
        assert_eq!(classify("/healthz"), Target::ServerNotFound);
        assert_eq!(classify("/metrics"), Target::ServerNotFound);
        assert_ne!(classify("/apis"), Target::ServerNotFound);
        assert_ne!(classify("/metrics-dashboard"), Target::ServerNotFound);
    }

    #[test]
    fn paths_are_classified_as_assets_or_pages() {
        assert_eq!(
            classify("/assets/index-abc.js"),
            Target::Asset("index-abc.js")
        );
        assert_eq!(
            classify("/"),
            Target::Page {
                file: "",
                looks_like_file: false
            }
        );
        assert_eq!(
            classify("/enterprises/01J9Z"),
            Target::Page {
                file: "enterprises/01J9Z",
                looks_like_file: false
            }
        );
        assert_eq!(
            classify("/robots.txt"),
            Target::Page {
                file: "robots.txt",
                looks_like_file: true
            }
        );
    }

    #[tokio::test]
    async fn an_asset_is_served_with_its_type_and_a_long_cache() {
        let res = get("/assets/index-abc123.js", &built());
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(
            header(&res, header::CONTENT_TYPE),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(header(&res, header::CACHE_CONTROL), CACHE_IMMUTABLE);
        assert_eq!(body(res).await, "console.log(1)");
        let css = get("/assets/index-abc123.css", &built());
        assert_eq!(
            header(&css, header::CONTENT_TYPE),
            "text/css; charset=utf-8"
        );
    }

    #[tokio::test]
    async fn a_missing_asset_is_a_404_not_the_index() {
        let res = get("/assets/gone-123.js", &built());
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
        assert!(!body(res).await.contains("<!doctype"));
    }

    #[tokio::test]
    async fn history_routes_fall_back_to_the_uncached_index() {
        for path in ["/", "/login", "/enterprises/01J9Z", "/index.html"] {
            let res = get(path, &built());
            assert_eq!(res.status(), StatusCode::OK, "{path}");
            assert_eq!(
                header(&res, header::CONTENT_TYPE),
                "text/html; charset=utf-8"
            );
            assert_eq!(header(&res, header::CACHE_CONTROL), CACHE_NONE);
            assert!(body(res).await.contains("id=app"));
        }
    }

    #[tokio::test]
    async fn root_files_are_served_and_missing_files_are_404() {
        let res = get("/favicon.svg", &built());
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(header(&res, header::CONTENT_TYPE), "image/svg+xml");
        assert_eq!(get("/robots.txt", &built()).status(), StatusCode::NOT_FOUND);
        assert_eq!(
            get("/assets/../index.html", &built()).status(),
            StatusCode::NOT_FOUND
        );
    }

    #[tokio::test]
    async fn unmatched_api_paths_answer_json_404() {
        let res = get("/api/v1/no-such-thing", &built());
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
        assert!(header(&res, header::CONTENT_TYPE).starts_with("application/json"));
        let v: serde_json::Value = serde_json::from_str(&body(res).await).unwrap();
        assert_eq!(v["error"]["code"], "not_found");
    }

    #[tokio::test]
    async fn a_matching_etag_answers_304() {
        let first = get("/assets/index-abc123.js", &built());
        let etag = header(&first, header::ETAG).to_owned();
        let mut h = HeaderMap::new();
        h.insert(header::IF_NONE_MATCH, HeaderValue::from_str(&etag).unwrap());
        let res = respond(&Method::GET, "/assets/index-abc123.js", &h, &built());
        assert_eq!(res.status(), StatusCode::NOT_MODIFIED);
    }

    #[tokio::test]
    async fn head_has_headers_and_no_body_and_post_is_refused() {
        let res = respond(&Method::HEAD, "/", &HeaderMap::new(), &built());
        assert_eq!(res.status(), StatusCode::OK);
        assert!(body(res).await.is_empty());
        let res = respond(&Method::POST, "/enterprises", &HeaderMap::new(), &built());
        assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
    }

    #[tokio::test]
    async fn without_a_built_ui_pages_explain_how_to_build_it() {
        let nothing = |_: &str| None;
        let res = get("/", &nothing);
        assert_eq!(res.status(), StatusCode::OK);
        let text = body(res).await;
        assert!(text.contains("Node.js") && text.contains("网页界面"));
        assert_eq!(get("/api/v1/x", &nothing).status(), StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn the_router_serves_through_axum() {
        use tower::ServiceExt;
        let app: Router = router();
        let req = axum::http::Request::get("/api/v1/none")
            .body(Body::empty())
            .unwrap();
        let res = app.oneshot(req).await.unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
    }
}
