//! Prometheus metrics served at `/metrics`.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Labels of HTTP metrics: the route pattern (not the raw path, to bound cardinality).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    /// HTTP method.
    pub method: String,
    /// Matched route pattern, or `unmatched`.
    pub route: String,
    /// Status code.
    pub status: u16,
}

/// A label of business gauges.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StatusLabel {
    /// The row's status.
    pub status: String,
}

/// Figures about the college's work, read from the database at most every
/// [`BUSINESS_TTL`](crate::services::monitoring::BUSINESS_TTL), so a scrape costs a few counts.
#[derive(Default)]
pub struct Business {
    /// Affairs (trial runs left out) by status.
    pub affairs: Family<StatusLabel, Gauge>,
    /// Affairs being handled past their time limit.
    pub affairs_overdue: Gauge,
    /// Pending tasks.
    pub tasks_open: Gauge,
    /// Pending tasks past their time limit.
    pub tasks_overdue: Gauge,
    /// Jobs not done yet.
    pub jobs_pending: Gauge,
    /// Jobs given up after their attempts.
    pub jobs_failed: Gauge,
    /// Webhook deliveries by status (`pending`, `delivered`, `failed`).
    pub webhook_deliveries: Family<StatusLabel, Gauge>,
    /// Unix time of the last successful `tongban backup` (0: none recorded).
    pub last_backup: Gauge,
    /// The audit chain's last sealed position.
    pub audit_head: Gauge,
    /// Audit records not sealed into the chain yet.
    pub audit_unsealed: Gauge,
    /// Alerts raised in the last 24 hours.
    pub alerts_day: Gauge,
    /// When the figures were last read.
    pub refreshed: tokio::sync::Mutex<Option<std::time::Instant>>,
}

/// The process's metrics.
pub struct Metrics {
    /// Business figures, refreshed on scrape.
    pub business: Business,
    registry: Registry,
    /// Requests served.
    pub http_requests: Family<HttpLabels, Counter>,
    /// Request durations in seconds.
    pub http_duration: Family<HttpLabels, Histogram>,
    /// Requests refused by the rate limits.
    pub rate_limited: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("tongban");
        let http_requests = Family::<HttpLabels, Counter>::default();
        let http_duration = Family::<HttpLabels, Histogram>::new_with_constructor(
            (|| Histogram::new(exponential_buckets(0.0005, 2.0, 16))) as fn() -> Histogram,
        );
        registry.register("http_requests", "HTTP requests served", http_requests.clone());
        registry.register("http_request_duration_seconds", "HTTP request duration", http_duration.clone());
        let rate_limited = Counter::default();
        registry.register("rate_limited_requests", "Requests refused by the rate limits", rate_limited.clone());
        let business = Business::default();
        let b = &business;
        registry.register("affairs", "Affairs by status (trial runs left out)", b.affairs.clone());
        registry.register("affairs_overdue", "Affairs being handled past their time limit", b.affairs_overdue.clone());
        registry.register("tasks_open", "Pending tasks", b.tasks_open.clone());
        registry.register("tasks_overdue", "Pending tasks past their time limit", b.tasks_overdue.clone());
        registry.register("jobs_pending", "Background jobs not done yet", b.jobs_pending.clone());
        registry.register("jobs_failed", "Background jobs given up after their attempts", b.jobs_failed.clone());
        registry.register("webhook_deliveries", "Webhook deliveries by status", b.webhook_deliveries.clone());
        registry.register(
            "last_backup_timestamp_seconds",
            "Unix time of the last successful tongban backup (0: none recorded)",
            b.last_backup.clone(),
        );
        registry.register("audit_chain_head_position", "The audit chain's last sealed position", b.audit_head.clone());
        registry.register("audit_unsealed_records", "Audit records not sealed yet", b.audit_unsealed.clone());
        registry.register("alerts_last_day", "Operator alerts raised in the last 24 hours", b.alerts_day.clone());
        Metrics { registry, http_requests, http_duration, rate_limited, business }
    }
}

impl Metrics {
    /// Count a request refused by the rate limits.
    pub fn rate_limited(&self) {
        self.rate_limited.inc();
    }

    /// Record one finished request.
    pub fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let labels = HttpLabels { method: method.to_owned(), route: route.to_owned(), status };
        self.http_requests.get_or_create(&labels).inc();
        self.http_duration.get_or_create(&labels).observe(seconds);
    }

    /// The text exposition format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
