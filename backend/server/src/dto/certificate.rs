//! Electronic certificates (电子证照): types, issued certificates, the wallet and public verification.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::{Validate, ValidationError};

use super::common::PageQuery;
use super::org::{validate_code, validate_text};

string_enum! {
    /// A certificate in force, revoked (撤销), or replaced by a re-issued one (被替换).
    CertificateStatus { Valid => "valid", Revoked => "revoked", Superseded => "superseded" }
}
string_enum! {
    /// What public verification says: as stored, or `expired` for a valid one past its date.
    VerifyStatus { Valid => "valid", Revoked => "revoked", Superseded => "superseded", Expired => "expired" }
}

/// A number prefix: 1–16 ASCII letters and digits.
fn validate_prefix(s: &str) -> Result<(), ValidationError> {
    let ok = (1..=16).contains(&s.len()) && s.chars().all(|c| c.is_ascii_alphanumeric());
    if ok { Ok(()) } else { Err(ValidationError::new("prefix_format")) }
}

/// A certificate type.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CertificateTypeView {
    /// Id.
    pub id: Uuid,
    /// Stable code.
    pub code: String,
    /// Name (在读证明).
    pub name: String,
    /// English name.
    pub name_en: Option<String>,
    /// The issuing department.
    pub department_id: Uuid,
    /// The body template (MiniJinja syntax over `holder` and `data`).
    pub template: String,
    /// Days a certificate stays valid; none for no expiry.
    pub validity_days: Option<i32>,
    /// Number prefix: numbers are `{prefix}{year}{sequence:06}`.
    pub number_prefix: String,
    /// Layout for the PDF rendering.
    #[schema(value_type = Object)]
    pub layout: Value,
    /// Optimistic-lock version.
    pub version: i32,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// `POST /certificate-types`.
#[derive(Debug, Deserialize, ToSchema, Validate)]
pub struct CreateCertificateType {
    /// Stable code: 1–64 letters, digits, `_`, `-`.
    #[validate(custom(function = "validate_code"))]
    #[schema(pattern = "^[A-Za-z0-9_-]{1,64}$", min_length = 1, max_length = 64)]
    pub code: String,
    /// The issuing department.
    pub department_id: Uuid,
    /// Fields shared with updates.
    #[serde(flatten)]
    #[validate(nested)]
    pub fields: CertificateTypeFields,
}

/// The editable part of a certificate type.
#[derive(Debug, Deserialize, ToSchema, Validate)]
pub struct CertificateTypeFields {
    /// Name.
    #[validate(length(min = 1, max = 128), custom(function = "validate_text"))]
    #[schema(min_length = 1, max_length = 128)]
    pub name: String,
    /// English name.
    #[validate(length(max = 128), custom(function = "validate_text"))]
    #[schema(max_length = 128)]
    pub name_en: Option<String>,
    /// The body template (MiniJinja syntax over `holder` and `data`); must parse.
    #[validate(length(min = 1, max = 20000))]
    #[schema(min_length = 1, max_length = 20000)]
    pub template: String,
    /// Days a certificate stays valid (1–36500); none for no expiry.
    #[validate(range(min = 1, max = 36500))]
    #[schema(minimum = 1, maximum = 36500)]
    pub validity_days: Option<i32>,
    /// Number prefix: 1–16 ASCII letters and digits.
    #[validate(custom(function = "validate_prefix"))]
    #[schema(pattern = "^[A-Za-z0-9]{1,16}$", min_length = 1, max_length = 16)]
    pub number_prefix: String,
    /// Layout for the PDF rendering (an object).
    #[schema(value_type = Object)]
    pub layout: Option<Map<String, Value>>,
}

/// `PUT /certificate-types/{id}`.
#[derive(Debug, Deserialize, ToSchema, Validate)]
pub struct UpdateCertificateType {
    /// The type's `version` read.
    pub version: i32,
    /// New values.
    #[serde(flatten)]
    #[validate(nested)]
    pub fields: CertificateTypeFields,
}

/// `POST /certificates`: issue by hand.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct IssueCertificate {
    /// The certificate type.
    pub type_id: Uuid,
    /// The holder.
    pub holder_id: Uuid,
    /// Data the body template reads as `data`.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub data: Map<String, Value>,
}

/// `POST /certificates/{id}/revoke`.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct RevokeCertificate {
    /// Why (shown by public verification).
    #[validate(length(min = 1, max = 500), custom(function = "validate_text"))]
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
    /// The certificate's `version` read.
    pub version: i32,
}

/// `POST /certificates/{id}/reissue`.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct ReissueCertificate {
    /// New data; the old certificate's when absent.
    #[schema(value_type = Option<Object>)]
    pub data: Option<Map<String, Value>>,
    /// Why it is re-issued.
    #[validate(length(min = 1, max = 500), custom(function = "validate_text"))]
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
    /// The certificate's `version` read.
    pub version: i32,
}

/// `GET /certificates` filters.
#[derive(Debug, Deserialize, IntoParams, Validate)]
#[into_params(parameter_in = Query)]
pub struct CertificateQuery {
    /// Only this holder's.
    pub holder_id: Option<Uuid>,
    /// Only of this type.
    pub type_id: Option<Uuid>,
    /// Only in this status.
    pub status: Option<CertificateStatus>,
    /// Page number, from 1.
    #[validate(range(min = 1, max = 1_000_000))]
    #[param(minimum = 1, maximum = 1_000_000, default = 1)]
    pub page: Option<u64>,
    /// Items per page, at most 100.
    #[validate(range(min = 1, max = 100))]
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub page_size: Option<u64>,
}

impl CertificateQuery {
    /// The paging part.
    pub fn paging(&self) -> PageQuery {
        PageQuery { page: self.page, page_size: self.page_size }
    }
}

/// An issued certificate.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CertificateView {
    /// Id.
    pub id: Uuid,
    /// The type.
    pub type_id: Uuid,
    /// The type's code.
    pub type_code: String,
    /// Number (证照编号).
    pub number: String,
    /// Public verification code.
    pub verify_code: String,
    /// Public verification URL.
    pub verify_url: String,
    /// The holder.
    pub holder_id: Uuid,
    /// The holder's name.
    pub holder_name: String,
    /// The affair it was issued for; none when issued by hand.
    pub affair_id: Option<Uuid>,
    /// The issuing department.
    pub department_id: Uuid,
    /// Title (the type's name).
    pub title: String,
    /// Rendered body text.
    pub body: String,
    /// The data it was rendered from.
    #[schema(value_type = Object)]
    pub data: Value,
    /// Signing key id.
    pub kid: String,
    /// Status as stored.
    pub status: CertificateStatus,
    /// Whether a valid certificate is past its date.
    pub expired: bool,
    /// Issued.
    pub issued_at: DateTime<Utc>,
    /// Issued by; none for automatic issuance.
    pub issued_by: Option<Uuid>,
    /// Valid until; none for no expiry.
    pub valid_until: Option<DateTime<Utc>>,
    /// Revoked.
    pub revoked_at: Option<DateTime<Utc>>,
    /// Why it was revoked.
    pub revoke_reason: Option<String>,
    /// The certificate this one replaces.
    pub supersedes_id: Option<Uuid>,
    /// The certificate that replaced this one.
    pub superseded_by_id: Option<Uuid>,
    /// Optimistic-lock version.
    pub version: i32,
}

/// `GET /verify/{code}`: what the public may know about a certificate.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VerifyResult {
    /// valid / revoked / superseded / expired.
    pub status: VerifyStatus,
    /// Number.
    pub number: String,
    /// Type name.
    pub type_name: String,
    /// Type name in English.
    pub type_name_en: Option<String>,
    /// Holder name, masked after the first character (林*, 欧阳**).
    pub holder_name: String,
    /// Issuing department's name.
    pub department_name: String,
    /// Issued.
    pub issued_at: DateTime<Utc>,
    /// Valid until.
    pub valid_until: Option<DateTime<Utc>>,
    /// When superseded: the successor's verification code.
    pub superseded_by_code: Option<String>,
    /// When revoked: when.
    pub revoked_at: Option<DateTime<Utc>>,
    /// When revoked: why.
    pub revoke_reason: Option<String>,
}
