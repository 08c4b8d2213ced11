//! Prometheus metrics: one process-wide recorder, requests labelled by route pattern.

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the recorder once per process (tests build many applications in one process).
pub fn init() {
    HANDLE.get_or_init(|| match PrometheusBuilder::new().install_recorder() {
        Ok(h) => Some(h),
        Err(e) => {
            tracing::warn!(error = %e, "metrics recorder not installed");
            None
        }
    });
}

pub fn render() -> String {
    match HANDLE.get().and_then(Option::as_ref) {
        Some(h) => h.render(),
        None => "# metrics recorder not installed\n".into(),
    }
}

pub fn record_request(method: &str, route: &str, status: u16, elapsed: Duration) {
    let labels = [("method", method.to_string()), ("route", route.to_string()), ("status", status.to_string())];
    metrics::counter!("yingji_http_requests_total", &labels).increment(1);
    metrics::histogram!("yingji_http_request_duration_seconds", &labels[..2]).record(elapsed.as_secs_f64());
}
