//! Reading one uploaded file from a `multipart/form-data` body, without ever holding more than
//! the size limit in memory.

use actix_multipart::{Multipart, MultipartError};
use bytes::{Bytes, BytesMut};
use futures_util::TryStreamExt;
use std::collections::BTreeMap;
use utoipa::ToSchema;

use crate::error::{AppError, ErrorCode};
use crate::services::storage::too_large;

/// The body of an upload, for the OpenAPI document.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct UploadForm {
    /// The file.
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
    /// For affair materials: the form field the file belongs to.
    pub field: Option<String>,
}

/// A file read from a multipart body, with the small text parts sent beside it.
#[derive(Debug)]
pub struct Upload {
    /// The client's file name (checked later by the storage layer).
    pub filename: String,
    /// The contents.
    pub data: Bytes,
    /// Text parts by name (`field`, …), each at most 1 KiB.
    pub fields: BTreeMap<String, String>,
}

fn multipart_error(e: MultipartError) -> AppError {
    match e {
        MultipartError::ContentTypeMissing
        | MultipartError::ContentTypeParse
        | MultipartError::ContentTypeIncompatible => AppError::detail(
            ErrorCode::UnsupportedMediaType,
            "请以 multipart/form-data 上传文件",
            "Upload files as multipart/form-data",
        ),
        e => AppError::detail(
            ErrorCode::BadRequest,
            format!("无法读取上传内容：{e}"),
            format!("The upload could not be read: {e}"),
        ),
    }
}

/// Read the part named `file` and any short text parts. A file over `max_bytes` is refused with
/// 413 as soon as the limit is passed.
pub async fn read_upload(mut mp: Multipart, max_bytes: usize) -> Result<Upload, AppError> {
    let mut file: Option<(String, Bytes)> = None;
    let mut fields = BTreeMap::new();
    while let Some(mut part) = mp.try_next().await.map_err(multipart_error)? {
        let name = part.name().unwrap_or("").to_owned();
        let filename = part.content_disposition().and_then(|d| d.get_filename()).map(str::to_owned);
        if name == "file" {
            if file.is_some() {
                return Err(AppError::field("file", "too_many", "一次只能上传一个文件", "Upload one file at a time"));
            }
            let Some(filename) = filename else {
                return Err(AppError::field("file", "invalid_filename", "缺少文件名", "The file name is missing"));
            };
            let mut buf = BytesMut::new();
            while let Some(chunk) = part.try_next().await.map_err(multipart_error)? {
                if buf.len() + chunk.len() > max_bytes {
                    return Err(too_large(max_bytes));
                }
                buf.extend_from_slice(&chunk);
            }
            file = Some((filename, buf.freeze()));
        } else {
            if fields.len() >= 16 {
                return Err(AppError::field(&name, "too_many", "表单项过多", "Too many form parts"));
            }
            let mut buf = BytesMut::new();
            while let Some(chunk) = part.try_next().await.map_err(multipart_error)? {
                if buf.len() + chunk.len() > 1024 {
                    return Err(AppError::field(&name, "too_long", "表单项过长", "The form part is too long"));
                }
                buf.extend_from_slice(&chunk);
            }
            let text = String::from_utf8(buf.to_vec()).map_err(|_| {
                AppError::field(&name, "invalid", "表单项须为 UTF-8 文本", "Form parts must be UTF-8 text")
            })?;
            fields.insert(name, text);
        }
    }
    let Some((filename, data)) = file else {
        return Err(AppError::field("file", "required", "请选择要上传的文件", "Choose a file to upload"));
    };
    Ok(Upload { filename, data, fields })
}
