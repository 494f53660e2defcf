//! Integrators: API clients (client credentials) and webhooks for affair and certificate events.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::{Validate, ValidationError};

use super::common::PageQuery;
use super::org::validate_text;

string_enum! {
    /// Whether an API client may obtain tokens.
    ClientStatus { Active => "active", Disabled => "disabled" }
}

string_enum! {
    /// What a webhook can be told about.
    WebhookEvent {
        AffairSubmitted => "affair.submitted",
        AffairResubmitted => "affair.resubmitted",
        AffairReturned => "affair.returned",
        AffairCompleted => "affair.completed",
        AffairRejected => "affair.rejected",
        AffairWithdrawn => "affair.withdrawn",
        CertificateIssued => "certificate.issued",
        CertificateRevoked => "certificate.revoked",
        Ping => "ping",
    }
}

string_enum! {
    /// Where a delivery stands: waiting (or retrying), delivered, or given up.
    DeliveryStatus { Pending => "pending", Delivered => "delivered", Failed => "failed" }
}

/// An API client (第三方系统接入). What it may do is the roles of its system account
/// (`user_id`, assigned with `PUT /users/{id}/roles`); a token may ask for fewer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ApiClientView {
    /// Id.
    pub id: Uuid,
    /// The public client id (`client_id` of the token request).
    pub client_id: String,
    /// Name.
    pub name: String,
    /// What it is for, who runs it.
    pub description: String,
    /// Active or disabled.
    pub status: ClientStatus,
    /// Its system account.
    pub user_id: Uuid,
    /// The permissions its roles give it (what a token may ask for).
    pub permissions: Vec<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// When the secret was last set.
    pub secret_rotated_at: DateTime<Utc>,
    /// When it last obtained a token.
    pub last_used_at: Option<DateTime<Utc>>,
    /// Optimistic-lock version.
    pub version: i32,
}

/// A client with its secret, shown once (on creation and rotation); only its hash is kept.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ApiClientSecret {
    /// The client.
    #[serde(flatten)]
    pub client: ApiClientView,
    /// The client secret. Store it now: it cannot be shown again.
    pub client_secret: String,
}

/// `POST /api-clients`.
#[derive(Debug, Deserialize, Serialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct CreateApiClient {
    /// Name, e.g. 教务系统.
    #[validate(length(min = 1, max = 128), custom(function = "validate_text"))]
    #[schema(min_length = 1, max_length = 128)]
    pub name: String,
    /// What it is for, who runs it.
    #[validate(length(max = 2000))]
    #[serde(default)]
    pub description: String,
    /// The department its account belongs to (for department-scoped roles).
    pub department_id: Option<Uuid>,
}

/// `PUT /api-clients/{id}`.
#[derive(Debug, Deserialize, Serialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct UpdateApiClient {
    /// Name.
    #[validate(length(min = 1, max = 128), custom(function = "validate_text"))]
    #[schema(min_length = 1, max_length = 128)]
    pub name: String,
    /// Description.
    #[validate(length(max = 2000))]
    #[serde(default)]
    pub description: String,
    /// Disabled clients get no tokens, and their tokens stop working at once.
    pub status: ClientStatus,
    /// The version read.
    pub version: i32,
}

/// `POST /api-clients/{id}/secret`: a new secret; the old one stops working.
#[derive(Debug, Deserialize, Serialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct RotateSecret {
    /// The version read.
    pub version: i32,
}

/// `POST /oauth/token` (RFC 6749 §4.4, client credentials), form-encoded. The client
/// authenticates with HTTP Basic (`client_secret_basic`) or with these fields
/// (`client_secret_post`).
#[derive(Debug, Deserialize, ToSchema, Validate)]
pub struct ClientTokenRequest {
    /// `client_credentials`.
    #[validate(length(max = 64))]
    pub grant_type: String,
    /// The client id, unless sent with HTTP Basic.
    #[validate(length(max = 64))]
    pub client_id: Option<String>,
    /// The secret, unless sent with HTTP Basic.
    #[validate(length(max = 128))]
    pub client_secret: Option<String>,
    /// Space-separated permissions the token may use (default: all the client's).
    #[validate(length(max = 1000))]
    pub scope: Option<String>,
}

/// An API client's access token.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ClientTokenResponse {
    /// JWT for `Authorization: Bearer`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until it expires.
    pub expires_in: i64,
    /// The permissions it carries, space-separated.
    pub scope: String,
}

fn validate_url(s: &str) -> Result<(), ValidationError> {
    let ok = (s.starts_with("https://") || s.starts_with("http://"))
        && s.len() <= 1024
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
        && s.split_once("://").is_some_and(|(_, rest)| {
            let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
            !host.is_empty() && !host.contains('@')
        });
    if ok { Ok(()) } else { Err(ValidationError::new("url")) }
}

fn validate_secret(s: &str) -> Result<(), ValidationError> {
    if (16..=128).contains(&s.len()) && s.chars().all(|c| c.is_ascii_graphic()) {
        Ok(())
    } else {
        Err(ValidationError::new("secret"))
    }
}

fn validate_events(v: &[WebhookEvent]) -> Result<(), ValidationError> {
    if v.is_empty() { Err(ValidationError::new("required")) } else { Ok(()) }
}

/// A webhook (its secret is never shown again after it is set).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WebhookView {
    /// Id.
    pub id: Uuid,
    /// Unique name; a process's `webhook` service task calls the hook by this name.
    pub name: String,
    /// Where events are POSTed.
    pub url: String,
    /// The events it receives.
    pub events: Vec<WebhookEvent>,
    /// Only events of this handling department's processes (`null`: all).
    pub department_id: Option<Uuid>,
    /// Inactive hooks receive nothing.
    pub active: bool,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// Optimistic-lock version.
    pub version: i32,
}

/// A webhook with its signing secret, shown once.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WebhookSecret {
    /// The webhook.
    #[serde(flatten)]
    pub webhook: WebhookView,
    /// The HMAC-SHA256 secret: each request carries
    /// `X-Tongban-Signature: sha256=HMAC(secret, "<X-Tongban-Timestamp>.<body>")`.
    pub secret: String,
}

/// `POST /webhooks`.
#[derive(Debug, Deserialize, Serialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhook {
    /// Unique name (letters, digits, `_`, `-`).
    #[validate(custom(function = "super::org::validate_code"))]
    #[schema(pattern = "^[A-Za-z0-9_-]{1,64}$")]
    pub name: String,
    /// An `http://` or `https://` URL without credentials.
    #[validate(custom(function = "validate_url"))]
    #[schema(max_length = 1024)]
    pub url: String,
    /// The events to receive (at least one).
    #[validate(length(max = 20), custom(function = "validate_events"))]
    #[schema(min_items = 1, max_items = 20)]
    pub events: Vec<WebhookEvent>,
    /// Only this handling department's processes.
    pub department_id: Option<Uuid>,
    /// 16–128 visible ASCII characters; generated when left out.
    #[validate(custom(function = "validate_secret"))]
    pub secret: Option<String>,
}

/// `PUT /webhooks/{id}`.
#[derive(Debug, Deserialize, Serialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct UpdateWebhook {
    /// URL.
    #[validate(custom(function = "validate_url"))]
    #[schema(max_length = 1024)]
    pub url: String,
    /// Events.
    #[validate(length(max = 20), custom(function = "validate_events"))]
    #[schema(min_items = 1, max_items = 20)]
    pub events: Vec<WebhookEvent>,
    /// Department filter.
    pub department_id: Option<Uuid>,
    /// Active.
    pub active: bool,
    /// The version read.
    pub version: i32,
}

/// One delivery of one event to one webhook.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeliveryView {
    /// Id (also `X-Tongban-Delivery`).
    pub id: Uuid,
    /// The webhook.
    pub webhook_id: Uuid,
    /// The event.
    pub event: String,
    /// Where it stands.
    pub status: DeliveryStatus,
    /// Attempts made.
    pub attempts: i32,
    /// When the next attempt is due (while pending).
    pub next_attempt_at: DateTime<Utc>,
    /// The receiver's last HTTP status.
    pub last_status: Option<i32>,
    /// The last failure.
    pub last_error: Option<String>,
    /// What is sent.
    pub payload: serde_json::Value,
    /// When the event happened.
    pub created_at: DateTime<Utc>,
    /// When it was delivered.
    pub delivered_at: Option<DateTime<Utc>>,
}

/// `GET /webhooks/{id}/deliveries` filters.
#[derive(Debug, Deserialize, IntoParams, Validate)]
#[into_params(parameter_in = Query)]
pub struct DeliveryQuery {
    /// Only in this state.
    pub status: Option<DeliveryStatus>,
    /// Page number, from 1.
    #[validate(range(min = 1, max = 1_000_000))]
    #[param(minimum = 1, maximum = 1_000_000, default = 1)]
    pub page: Option<u64>,
    /// Items per page, at most 100.
    #[validate(range(min = 1, max = 100))]
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub page_size: Option<u64>,
}

impl DeliveryQuery {
    pub fn paging(&self) -> PageQuery {
        PageQuery { page: self.page, page_size: self.page_size }
    }
}
