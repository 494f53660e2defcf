//! Attachments (申请材料): files uploaded by an applicant or handler and attached to an affair
//! through a `file` field of its form.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::entity::file;

/// An uploaded file's metadata.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AttachmentView {
    /// Id: put it in a `file` field of the form.
    pub id: Uuid,
    /// The cleaned file name.
    pub filename: String,
    /// The media type established from the contents.
    pub content_type: String,
    /// Bytes.
    pub size: i64,
    /// Hex SHA-256 of the contents.
    pub sha256: String,
    /// Who uploaded it.
    pub owner_id: Uuid,
    /// The affair it is attached to (`null` until the form that names it is submitted).
    pub affair_id: Option<Uuid>,
    /// The form field it is attached under (or the field named at upload).
    pub field_key: Option<String>,
    /// Uploaded.
    pub created_at: DateTime<Utc>,
    /// Where to download it (with the same token).
    pub download_url: String,
}

impl From<file::Model> for AttachmentView {
    fn from(f: file::Model) -> Self {
        AttachmentView {
            download_url: format!("/api/v1/attachments/{}", f.id),
            id: f.id,
            filename: f.filename,
            content_type: f.content_type,
            size: f.size,
            sha256: f.sha256,
            owner_id: f.owner_id,
            affair_id: f.affair_id,
            field_key: f.field_key,
            created_at: f.created_at,
        }
    }
}
