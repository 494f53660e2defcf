//! A response body kept in memory (the anonymous hall, public guide pages) with its gzip form,
//! compressed once on first use instead of by the `Compress` middleware on every response: that
//! made a new deflate state and compressed the same bytes each time, and held the anonymous hall
//! to a tenth of what it served uncompressed (9k against 96k responses a second, see
//! `docs/benchmarks.md`).

use std::io::Write;
use std::sync::OnceLock;

use bytes::Bytes;
use flate2::Compression;
use flate2::write::GzEncoder;

/// Below this size gzip saves too little to be worth the client's work.
const MIN_GZIP: usize = 512;

/// A body and, on demand, its gzip encoding.
#[derive(Debug)]
pub struct Encoded {
    identity: Bytes,
    gzip: OnceLock<Option<Bytes>>,
}

impl Encoded {
    /// A body, not yet compressed.
    pub fn new(identity: Bytes) -> Encoded {
        Encoded { identity, gzip: OnceLock::new() }
    }

    /// The body as it is.
    pub fn identity(&self) -> &Bytes {
        &self.identity
    }

    /// The body gzip-encoded (made on first call, at the default level), or `None` when it is
    /// too small to be worth it.
    pub fn gzip(&self) -> Option<&Bytes> {
        self.gzip
            .get_or_init(|| {
                if self.identity.len() < MIN_GZIP {
                    return None;
                }
                let mut e = GzEncoder::new(Vec::with_capacity(self.identity.len() / 3), Compression::default());
                e.write_all(&self.identity).ok()?;
                e.finish().ok().map(Bytes::from)
            })
            .as_ref()
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn gzip_decodes_to_the_body_and_small_bodies_stay_plain() {
        let body = Bytes::from("{\"name\":\"在读证明\"}".repeat(100));
        let e = Encoded::new(body.clone());
        let gz = e.gzip().expect("compressed");
        assert!(gz.len() < body.len() / 4, "{} of {}", gz.len(), body.len());
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&gz[..]).read_to_end(&mut out).expect("gunzip");
        assert_eq!(out, body);
        assert!(std::ptr::eq(e.gzip().expect("kept"), gz), "compressed once");
        assert_eq!(Encoded::new(Bytes::from_static(b"{}")).gzip(), None);
    }
}
