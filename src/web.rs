//! Placeholder until the UI module lands: answers every non-API path with a short page.

use axum::Router;
use axum::response::Html;

pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new().fallback(|| async {
        Html("<!doctype html><title>Yingji</title><p>The web UI is not built.</p>")
    })
}
