//! Reading a PDF back: the files attached to it (a certificate PDF carries its signed JSON).

use hayro_syntax::Pdf;
use hayro_syntax::object::{Dict, Name, Object, Stream};

/// The largest attachment read back: a signed certificate is a few kilobytes.
const MAX_ATTACHMENT: usize = 4 * 1024 * 1024;

/// Every embedded file of the PDF, by name, in the order found.
pub fn attachments(data: &[u8]) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    let pdf = Pdf::new(data.to_vec()).map_err(|e| anyhow::anyhow!("not a readable PDF: {e:?}"))?;
    let mut out = Vec::new();
    for obj in pdf.objects() {
        let Object::Dict(d) = obj else { continue };
        if d.get::<Name>(b"Type").is_none_or(|t| t.as_ref() != b"Filespec") {
            continue;
        }
        let name = d
            .get::<hayro_syntax::object::String>(b"UF")
            .or_else(|| d.get::<hayro_syntax::object::String>(b"F"))
            .map(|s| String::from_utf8_lossy(s.as_bytes()).into_owned())
            .unwrap_or_default();
        let Some(ef) = d.get::<Dict>(b"EF") else { continue };
        let Some(stream) = ef.get::<Stream>(b"F") else { continue };
        let bytes = stream.decoded().map_err(|e| anyhow::anyhow!("attachment {name}: {e:?}"))?;
        if bytes.len() > MAX_ATTACHMENT {
            anyhow::bail!("attachment {name} is too large");
        }
        out.push((name, bytes.into_owned()));
    }
    Ok(out)
}

/// The number of pages.
pub fn page_count(data: &[u8]) -> anyhow::Result<usize> {
    let pdf = Pdf::new(data.to_vec()).map_err(|e| anyhow::anyhow!("not a readable PDF: {e:?}"))?;
    Ok(pdf.pages().len())
}

/// The signed certificate a certificate PDF carries.
pub fn certificate(data: &[u8]) -> anyhow::Result<Vec<u8>> {
    attachments(data)?
        .into_iter()
        .find(|(name, _)| name == super::certificate::ATTACHMENT)
        .map(|(_, bytes)| bytes)
        .ok_or_else(|| anyhow::anyhow!("the PDF carries no signed certificate ({})", super::certificate::ATTACHMENT))
}
