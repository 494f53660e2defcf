//! The object store for uploaded files: the local file system by default, any S3-compatible store
//! when configured (MinIO, Ceph, cloud S3).
//!
//! Every file goes through [`Storage::put`], which refuses unsafe names, files over the limit,
//! types outside the allowlist and contents that do not match their extension (a PNG named `.pdf`,
//! an executable named `.jpg`), and records the SHA-256 of what was stored. Keys are random and
//! never derived from the client's file name.

use std::sync::Arc;

use bytes::Bytes;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::config::{Settings, StorageBackend};
use crate::error::{AppError, AppResult, ErrorCode};

/// Where files are kept.
#[derive(Clone)]
pub struct Storage {
    store: Arc<dyn ObjectStore>,
    /// Largest file accepted, in bytes.
    pub max_file_bytes: usize,
    backend: &'static str,
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Storage").field("backend", &self.backend).field("max_file_bytes", &self.max_file_bytes).finish()
    }
}

/// A file accepted and stored.
#[derive(Debug, Clone)]
pub struct Stored {
    /// Object key.
    pub key: String,
    /// The cleaned file name.
    pub filename: String,
    /// The media type established from the contents.
    pub content_type: String,
    /// Bytes.
    pub size: i64,
    /// Hex SHA-256 of the contents.
    pub sha256: String,
}

/// One accepted file type: extensions, the canonical media type, and how the contents are checked.
struct Kind {
    exts: &'static [&'static str],
    mime: &'static str,
    check: Check,
}

enum Check {
    /// The sniffed type must be one of these.
    Magic(&'static [&'static str]),
    /// Text: valid UTF-8 without NUL bytes, and no binary signature.
    Text,
    /// XML text: as `Text`, starting with `<` (after a byte-order mark and white space).
    Xml,
}

const KINDS: &[Kind] = &[
    Kind { exts: &["pdf"], mime: "application/pdf", check: Check::Magic(&["application/pdf"]) },
    Kind { exts: &["jpg", "jpeg"], mime: "image/jpeg", check: Check::Magic(&["image/jpeg"]) },
    Kind { exts: &["png"], mime: "image/png", check: Check::Magic(&["image/png"]) },
    Kind { exts: &["gif"], mime: "image/gif", check: Check::Magic(&["image/gif"]) },
    Kind { exts: &["webp"], mime: "image/webp", check: Check::Magic(&["image/webp"]) },
    Kind {
        exts: &["docx"],
        mime: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        check: Check::Magic(&[
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "application/zip",
        ]),
    },
    Kind {
        exts: &["xlsx"],
        mime: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        check: Check::Magic(&["application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "application/zip"]),
    },
    Kind {
        exts: &["pptx"],
        mime: "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        check: Check::Magic(&[
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            "application/zip",
        ]),
    },
    // Legacy Office and WPS files are OLE compound documents.
    Kind {
        exts: &["doc", "wps"],
        mime: "application/msword",
        check: Check::Magic(&["application/msword", "application/x-ole-storage"]),
    },
    Kind {
        exts: &["xls", "et"],
        mime: "application/vnd.ms-excel",
        check: Check::Magic(&["application/vnd.ms-excel", "application/x-ole-storage"]),
    },
    Kind {
        exts: &["ppt"],
        mime: "application/vnd.ms-powerpoint",
        check: Check::Magic(&["application/vnd.ms-powerpoint", "application/x-ole-storage"]),
    },
    // OFD, the Chinese national fixed-layout format, is a zip container.
    Kind { exts: &["ofd"], mime: "application/ofd", check: Check::Magic(&["application/zip"]) },
    Kind { exts: &["txt"], mime: "text/plain; charset=utf-8", check: Check::Text },
    Kind { exts: &["csv"], mime: "text/csv; charset=utf-8", check: Check::Text },
    // BPMN 2.0 diagrams drawn in a modeller (a flowchart with each node's owner).
    Kind { exts: &["bpmn"], mime: "application/xml", check: Check::Xml },
];

/// The extensions accepted at all, for messages and the API description.
pub fn accepted_extensions() -> Vec<&'static str> {
    KINDS.iter().flat_map(|k| k.exts.iter().copied()).collect()
}

/// Check a client's file name and return it cleaned: no directories, no `..`, no control or
/// reserved characters, no hidden files, at most 255 bytes, with an extension.
pub fn safe_filename(name: &str) -> AppResult<String> {
    let bad = |zh: &str, en: &str| AppError::field("file", "invalid_filename", zh, en);
    let name = name.trim();
    if name.is_empty() {
        return Err(bad("文件名不能为空", "The file name is empty"));
    }
    if name.contains(['/', '\\']) || name.contains("..") {
        return Err(bad("文件名不能包含路径", "The file name must not contain a path"));
    }
    if name.chars().any(|c| c.is_control() || matches!(c, ':' | '*' | '?' | '"' | '<' | '>' | '|')) {
        return Err(bad("文件名包含不允许的字符", "The file name contains characters that are not allowed"));
    }
    if name.starts_with('.') {
        return Err(bad("不接受隐藏文件", "Hidden files are not accepted"));
    }
    if name.len() > 255 {
        return Err(bad("文件名过长（最多 255 字节）", "The file name is too long (255 bytes at most)"));
    }
    if extension(name).is_none() {
        return Err(bad("文件名须带扩展名", "The file name needs an extension"));
    }
    Ok(name.to_owned())
}

fn extension(name: &str) -> Option<String> {
    let (stem, ext) = name.rsplit_once('.')?;
    (!stem.is_empty() && !ext.is_empty()).then(|| ext.to_ascii_lowercase())
}

/// Whether a file with this name and media type satisfies a form field's `accept` list
/// (extensions such as `.pdf`, media types such as `image/*`); an empty list accepts anything.
pub fn accepts(accept: &[String], filename: &str, content_type: &str) -> bool {
    if accept.is_empty() {
        return true;
    }
    let ext = extension(filename).unwrap_or_default();
    let mime = content_type.split(';').next().unwrap_or("").trim();
    accept.iter().any(|a| {
        let a = a.trim().to_ascii_lowercase();
        if let Some(e) = a.strip_prefix('.') {
            e == ext
        } else if let Some(major) = a.strip_suffix("/*") {
            mime.split('/').next() == Some(major)
        } else {
            a == mime
        }
    })
}

fn is_text(found: Option<&str>, data: &[u8]) -> bool {
    found.is_none() && !data.contains(&0) && std::str::from_utf8(data).is_ok()
}

/// Establish the media type from the contents and check it against the extension.
pub fn sniff(filename: &str, data: &[u8]) -> AppResult<&'static str> {
    let ext = extension(filename).unwrap_or_default();
    let Some(kind) = KINDS.iter().find(|k| k.exts.contains(&ext.as_str())) else {
        return Err(AppError::detail(
            ErrorCode::UnsupportedMediaType,
            format!("不接受 .{ext} 文件；可上传：{}", accepted_extensions().join("、")),
            format!("Files of type .{ext} are not accepted; accepted: {}", accepted_extensions().join(", ")),
        ));
    };
    let found = infer::get(data).map(|t| t.mime_type());
    let ok = match kind.check {
        Check::Magic(types) => found.is_some_and(|m| types.contains(&m)),
        Check::Text => is_text(found, data),
        Check::Xml => {
            is_text(found.filter(|m| !m.ends_with("/xml")), data)
                && String::from_utf8_lossy(data).trim_start_matches('\u{feff}').trim_start().starts_with('<')
        }
    };
    if !ok {
        return Err(AppError::detail(
            ErrorCode::UnsupportedMediaType,
            format!("文件内容与扩展名 .{ext} 不符"),
            format!("The file's contents do not match its .{ext} extension"),
        ));
    }
    Ok(kind.mime)
}

impl Storage {
    /// The store the settings name.
    pub fn from_settings(s: &Settings) -> anyhow::Result<Storage> {
        use secrecy::ExposeSecret;
        let (store, backend): (Arc<dyn ObjectStore>, &'static str) = match s.storage.backend {
            StorageBackend::Fs => {
                let dir = s.storage.dir.clone().unwrap_or_else(|| s.data_dir.join("files"));
                std::fs::create_dir_all(&dir)?;
                (Arc::new(LocalFileSystem::new_with_prefix(dir)?), "fs")
            }
            StorageBackend::S3 => {
                let c = &s.storage;
                let bucket =
                    c.bucket.clone().ok_or_else(|| anyhow::anyhow!("TONGBAN_STORAGE__BUCKET is required for S3"))?;
                let mut b = AmazonS3Builder::new()
                    .with_bucket_name(bucket)
                    .with_region(c.region.clone())
                    .with_allow_http(c.allow_http)
                    .with_virtual_hosted_style_request(false);
                if let Some(e) = &c.endpoint {
                    b = b.with_endpoint(e.clone());
                }
                if let (Some(k), Some(sk)) = (&c.access_key_id, &c.secret_access_key) {
                    b = b.with_access_key_id(k.clone()).with_secret_access_key(sk.expose_secret().to_owned());
                }
                (Arc::new(b.build()?), "s3")
            }
        };
        Ok(Storage { store, max_file_bytes: s.storage.max_file_bytes, backend })
    }

    /// `fs` or `s3`.
    pub fn backend(&self) -> &'static str {
        self.backend
    }

    /// Check and store one file under `<prefix>/<yyyy>/<mm>/<random>`.
    pub async fn put(&self, prefix: &str, filename: &str, data: Bytes) -> AppResult<Stored> {
        let filename = safe_filename(filename)?;
        if data.len() > self.max_file_bytes {
            return Err(too_large(self.max_file_bytes));
        }
        if data.is_empty() {
            return Err(AppError::field("file", "empty", "文件为空", "The file is empty"));
        }
        let content_type = sniff(&filename, &data)?.to_owned();
        let sha256 = hex::encode(Sha256::digest(&data));
        let now = chrono::Utc::now();
        let key = format!("{prefix}/{}/{}", now.format("%Y/%m"), Uuid::now_v7().simple());
        let size = data.len() as i64;
        self.store
            .put(&ObjectPath::from(key.as_str()), PutPayload::from(data))
            .await
            .map_err(|e| AppError::Internal(anyhow::anyhow!("object store put {key}: {e}")))?;
        Ok(Stored { key, filename, content_type, size, sha256 })
    }

    /// The contents of a stored object.
    pub async fn get(&self, key: &str) -> AppResult<Bytes> {
        let r = self.store.get(&ObjectPath::from(key)).await.map_err(|e| match e {
            object_store::Error::NotFound { .. } => AppError::not_found(),
            e => AppError::Internal(anyhow::anyhow!("object store get {key}: {e}")),
        })?;
        r.bytes().await.map_err(|e| AppError::Internal(anyhow::anyhow!("object store read {key}: {e}")))
    }

    /// Store bytes the server made itself (archives) under a key of its choosing.
    pub async fn put_object(&self, key: &str, data: Bytes) -> AppResult<()> {
        self.store
            .put(&ObjectPath::from(key), PutPayload::from(data))
            .await
            .map(|_| ())
            .map_err(|e| AppError::Internal(anyhow::anyhow!("object store put {key}: {e}")))
    }

    /// Store a local file the server made (a bulk export), streamed in parts: it may be large.
    pub async fn put_path(&self, key: &str, path: &std::path::Path) -> AppResult<()> {
        use tokio::io::AsyncWriteExt;
        let internal = |e: std::io::Error| AppError::Internal(anyhow::anyhow!("object store upload {key}: {e}"));
        let mut file = tokio::fs::File::open(path).await.map_err(internal)?;
        let mut w = object_store::buffered::BufWriter::new(self.store.clone(), ObjectPath::from(key));
        tokio::io::copy(&mut file, &mut w).await.map_err(internal)?;
        w.shutdown().await.map_err(internal)
    }

    /// A stored object as a stream of chunks, with its size: for large downloads.
    pub async fn get_stream(
        &self,
        key: &str,
    ) -> AppResult<(u64, futures_util::stream::BoxStream<'static, Result<Bytes, std::io::Error>>)> {
        use futures_util::StreamExt;
        let r = self.store.get(&ObjectPath::from(key)).await.map_err(|e| match e {
            object_store::Error::NotFound { .. } => AppError::not_found(),
            e => AppError::Internal(anyhow::anyhow!("object store get {key}: {e}")),
        })?;
        let size = r.meta.size;
        Ok((size, r.into_stream().map(|c| c.map_err(std::io::Error::other)).boxed()))
    }

    /// Remove a stored object; a missing one is not an error.
    pub async fn delete(&self, key: &str) -> AppResult<()> {
        match self.store.delete(&ObjectPath::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(AppError::Internal(anyhow::anyhow!("object store delete {key}: {e}"))),
        }
    }
}

/// 413 naming the limit.
pub fn too_large(max: usize) -> AppError {
    AppError::detail(
        ErrorCode::PayloadTooLarge,
        format!("文件超过 {} MiB 的上限", max / (1024 * 1024)),
        format!("The file exceeds the {} MiB limit", max / (1024 * 1024)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";
    const PDF: &[u8] = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n";

    #[test]
    fn names_with_paths_or_control_characters_are_refused() {
        for bad in
            ["../etc/passwd", "a/b.pdf", "..\\x.pdf", "x\0.pdf", "line\n.pdf", ".hidden.pdf", "noext", "", "a:b.pdf"]
        {
            assert!(safe_filename(bad).is_err(), "{bad:?} should be refused");
        }
        assert_eq!(safe_filename(" 在读证明 申请表.pdf ").ok().as_deref(), Some("在读证明 申请表.pdf"));
        assert!(safe_filename("v1.2.final.docx").is_ok());
    }

    #[test]
    fn contents_must_match_the_extension() {
        assert_eq!(sniff("a.png", PNG).ok(), Some("image/png"));
        assert_eq!(sniff("a.PDF", PDF).ok(), Some("application/pdf"));
        assert!(sniff("a.pdf", PNG).is_err(), "a PNG behind .pdf");
        assert!(sniff("a.jpg", b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff").is_err(), "an executable behind .jpg");
        assert!(sniff("a.txt", PNG).is_err(), "binary behind .txt");
        assert!(sniff("a.txt", "说明\n".as_bytes()).is_ok());
        assert!(sniff("a.exe", b"MZ").is_err(), "extension outside the allowlist");
    }

    #[test]
    fn accept_lists_match_extensions_and_media_types() {
        let acc = vec![".pdf".to_owned(), "image/*".to_owned()];
        assert!(accepts(&acc, "a.pdf", "application/pdf"));
        assert!(accepts(&acc, "a.jpg", "image/jpeg"));
        assert!(!accepts(&acc, "a.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"));
        assert!(accepts(&[], "a.docx", "x"));
    }
}
