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

/// The most a container (docx, xlsx, pptx, ofd) may expand to, in all.
const MAX_UNPACKED: u64 = 256 * 1024 * 1024;
/// The most a container may expand relative to its size.
const MAX_RATIO: u64 = 200;
/// The most entries a container may hold.
const MAX_ENTRIES: usize = 10_000;

fn refused(zh: &str, en: &str) -> AppError {
    AppError::detail(ErrorCode::UnsupportedMediaType, zh, en)
}

/// Refuse files that are more than they claim to be: containers that expand far beyond their size
/// (zip bombs, measured by decompressing, since sizes in headers can lie), and polyglots — images
/// or PDFs with another file after their end, PDFs that run JavaScript or launch programs, and
/// markup a browser could run hidden in a file of another type. `mime` is what [`sniff`] found.
pub fn inspect(mime: &str, data: &[u8]) -> AppResult<()> {
    let head: String = String::from_utf8_lossy(&data[..data.len().min(1024)]).to_lowercase();
    let markup = ["<script", "<html", "<!doctype html", "<svg", "<iframe"];
    if !mime.starts_with("text/") && mime != "application/xml" && markup.iter().any(|m| head.contains(m)) {
        return Err(refused("文件中含有网页脚本，不予接收", "The file carries web markup or script"));
    }
    let trailing = |rest: &[u8]| rest.iter().any(|b| !b.is_ascii_whitespace() && *b != 0);
    let after =
        |needle: &[u8]| data.windows(needle.len()).rposition(|w| w == needle).map(|i| &data[i + needle.len()..]);
    match mime {
        "image/png" => match after(b"IEND") {
            Some(rest) if rest.len() >= 4 && !trailing(&rest[4..]) => {}
            _ => {
                return Err(refused(
                    "PNG 图片不完整或结尾附带了其他数据",
                    "The PNG is truncated or has data after its end",
                ));
            }
        },
        "image/jpeg" => {
            let end = data.iter().rposition(|b| *b != 0).map_or(&data[..0], |i| &data[..=i]);
            if !end.ends_with(&[0xFF, 0xD9]) {
                return Err(refused(
                    "JPEG 图片不完整或结尾附带了其他数据",
                    "The JPEG is truncated or has data after its end",
                ));
            }
        }
        "image/gif" => {
            let end = data.iter().rposition(|b| *b != 0).map(|i| data[i]);
            if end != Some(0x3B) {
                return Err(refused(
                    "GIF 图片不完整或结尾附带了其他数据",
                    "The GIF is truncated or has data after its end",
                ));
            }
        }
        "image/webp" => {
            let declared = data.get(4..8).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize + 8);
            if declared != Some(data.len()) && declared != Some(data.len() - (data.len() % 2)) {
                return Err(refused("WebP 图片的长度与内容不符", "The WebP's length does not match its contents"));
            }
        }
        "application/pdf" => {
            match after(b"%%EOF") {
                Some(rest) if !trailing(rest) => {}
                _ => {
                    return Err(refused(
                        "PDF 文件不完整或结尾附带了其他数据",
                        "The PDF is truncated or has data after its end",
                    ));
                }
            }
            let active: [&[u8]; 3] = [b"/JavaScript", b"/Launch", b"/EmbeddedFile"];
            if active.iter().any(|a| data.windows(a.len()).any(|w| w == *a)) {
                return Err(refused(
                    "PDF 中含有脚本、启动程序或嵌入文件，不予接收，请另存为普通 PDF 后上传",
                    "The PDF carries scripts, launch actions or embedded files; save it as a plain PDF",
                ));
            }
        }
        m if m.starts_with("application/vnd.openxmlformats") || m == "application/ofd" => container(data)?,
        _ => {}
    }
    Ok(())
}

/// A zip container must open, hold a sane number of entries and expand to a sane size.
fn container(data: &[u8]) -> AppResult<()> {
    use std::io::Read;
    let bad = || refused("文档无法打开或已损坏", "The document cannot be opened");
    let bomb = || refused("文档解压后过大（疑似压缩炸弹），不予接收", "The document expands too far (a zip bomb?)");
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(data)).map_err(|_| bad())?;
    if z.len() > MAX_ENTRIES {
        return Err(bomb());
    }
    let limit = MAX_UNPACKED.min((data.len() as u64).saturating_mul(MAX_RATIO)).max(1024 * 1024);
    let mut total: u64 = 0;
    let mut buf = vec![0u8; 64 * 1024];
    for i in 0..z.len() {
        let mut f = z.by_index(i).map_err(|_| bad())?;
        loop {
            let n = f.read(&mut buf).map_err(|_| bad())?;
            if n == 0 {
                break;
            }
            total += n as u64;
            if total > limit {
                return Err(bomb());
            }
        }
    }
    Ok(())
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
        let (mime, bytes) = (content_type.clone(), data.clone());
        tokio::task::spawn_blocking(move || inspect(&mime, &bytes))
            .await
            .map_err(|e| AppError::Internal(anyhow::anyhow!("inspect: {e}")))??;
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

    /// The size of a stored object, or `None` when there is no such object.
    pub async fn head(&self, key: &str) -> AppResult<Option<u64>> {
        match self.store.head(&ObjectPath::from(key)).await {
            Ok(m) => Ok(Some(m.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(AppError::Internal(anyhow::anyhow!("object store head {key}: {e}"))),
        }
    }

    /// Every object in the store (key and size), in key order: for backups and checks.
    pub async fn list(&self) -> AppResult<Vec<(String, u64)>> {
        use futures_util::TryStreamExt;
        let mut all: Vec<(String, u64)> = self
            .store
            .list(None)
            .map_ok(|m| (m.location.to_string(), m.size))
            .try_collect()
            .await
            .map_err(|e| AppError::Internal(anyhow::anyhow!("object store list: {e}")))?;
        all.sort();
        Ok(all)
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

    fn zip_of(entries: &[(&str, Vec<u8>)]) -> Vec<u8> {
        use std::io::Write;
        let mut out = std::io::Cursor::new(Vec::new());
        {
            let mut z = zip::ZipWriter::new(&mut out);
            let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
            for (name, data) in entries {
                z.start_file(*name, opts).expect("start");
                z.write_all(data).expect("write");
            }
            z.finish().expect("finish");
        }
        out.into_inner()
    }

    #[test]
    fn zip_bombs_and_polyglots_are_refused() {
        let docx = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
        // An ordinary document passes; 300 MiB of zeros in a few hundred KiB does not.
        let fine = zip_of(&[("word/document.xml", b"<w:document/>".repeat(1000))]);
        assert!(inspect(docx, &fine).is_ok());
        let bomb = zip_of(&[("word/document.xml", vec![0u8; 300 * 1024 * 1024])]);
        assert!(bomb.len() < 1024 * 1024, "{} bytes", bomb.len());
        assert!(inspect(docx, &bomb).is_err());
        assert!(inspect(docx, b"PK\x03\x04not really").is_err());
        // Images and PDFs with something after their end; PDFs that act.
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\0IEND\xaeB`\x82";
        assert!(inspect("image/png", png).is_ok());
        assert!(inspect("image/png", &[&png[..], &fine[..]].concat()).is_err(), "a zip behind a PNG");
        assert!(inspect("image/png", &png[..png.len() - 8]).is_err(), "truncated");
        assert!(inspect("image/jpeg", b"\xff\xd8\xff\xe0JFIF\xff\xd9").is_ok());
        assert!(inspect("image/jpeg", b"\xff\xd8\xff\xe0JFIF\xff\xd9<script>x</script>").is_err());
        assert!(inspect("application/pdf", PDF).is_ok());
        assert!(inspect("application/pdf", &[PDF, &fine[..]].concat()).is_err());
        let js = b"%PDF-1.7\n1 0 obj<</OpenAction<</S/JavaScript/JS(app.alert(1))>>>>endobj\n%%EOF\n";
        assert!(inspect("application/pdf", js).is_err());
        // Markup hidden in a binary type.
        assert!(inspect("image/gif", b"GIF89a<html><script>alert(1)</script>;").is_err());
        assert!(inspect("text/plain; charset=utf-8", b"<script> in a text file is text").is_ok());
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
