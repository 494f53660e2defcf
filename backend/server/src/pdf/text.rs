//! Fonts and text layout for PDFs: glyph lookup with fallback, measurement, and line breaking
//! for Chinese (any two hanzi may break, closing punctuation never starts a line and opening
//! punctuation never ends one) mixed with Latin words (broken at spaces, or by character when a
//! word is longer than the line).
//!
//! Chinese needs no shaping engine: every character maps to one glyph, so glyphs and advances
//! come straight from the font's `cmap` and `hmtx` (skrifa), and krilla embeds subsets of them.

use std::path::Path;
use std::sync::Arc;

use krilla::text::{Font, GlyphId, KrillaGlyph};
use skrifa::instance::{LocationRef, Size};
use skrifa::raw::TableProvider;
use skrifa::{FontRef, MetadataProvider};

/// Noto Serif CJK SC subset to GB 2312 (see `scripts/subset-font.sh`, licence in `OFL.txt`).
static SHIPPED: &[u8] = include_bytes!("../../assets/fonts/NotoSerifSC-Regular-GB2312.otf");

type Bytes = Arc<dyn AsRef<[u8]> + Send + Sync>;

struct Face {
    bytes: Bytes,
    index: u32,
    font: Font,
    upem: f32,
}

impl Face {
    fn new(bytes: Bytes, index: u32) -> anyhow::Result<Face> {
        let font = Font::new(bytes.clone().into(), index).ok_or_else(|| anyhow::anyhow!("not a usable font"))?;
        let upem = FontRef::from_index((*bytes).as_ref(), index)?.head()?.units_per_em();
        Ok(Face { bytes, index, font, upem: f32::from(upem.max(1)) })
    }

    fn font_ref(&self) -> Option<FontRef<'_>> {
        FontRef::from_index((*self.bytes).as_ref(), self.index).ok()
    }
}

/// The fonts a PDF is drawn with: the shipped one first, then the configured fallback for
/// characters it lacks (生僻字 outside GB 2312).
pub struct Fonts {
    faces: Vec<Face>,
}

/// One character, placed: which face, which glyph, how wide (in em).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Placed {
    pub ch: char,
    pub face: usize,
    pub glyph: u32,
    pub advance: f32,
}

impl Fonts {
    /// The shipped font and, when given, a fallback font file (an `.otf`, `.ttf` or `.ttc` with
    /// the face index).
    pub fn load(fallback: Option<(&Path, u32)>) -> anyhow::Result<Fonts> {
        let mut faces = vec![Face::new(Arc::new(SHIPPED), 0)?];
        if let Some((path, index)) = fallback {
            let data = std::fs::read(path).map_err(|e| anyhow::anyhow!("fallback font {}: {e}", path.display()))?;
            faces.push(
                Face::new(Arc::new(data), index)
                    .map_err(|e| anyhow::anyhow!("fallback font {} (face {index}): {e}", path.display()))?,
            );
        }
        Ok(Fonts { faces })
    }

    /// The shipped font alone.
    pub fn shipped() -> Fonts {
        #[allow(clippy::expect_used)]
        Fonts::load(None).expect("the shipped font parses")
    }

    pub(crate) fn font(&self, face: usize) -> Font {
        self.faces[face.min(self.faces.len() - 1)].font.clone()
    }

    /// Whether every character of `text` has a glyph in some face.
    pub fn covers(&self, text: &str) -> bool {
        self.place(text).iter().all(|p| p.glyph != 0 || p.ch.is_whitespace())
    }

    /// Each character of `text` with its face, glyph and advance; a character no face has is the
    /// first face's `.notdef`. Control characters are dropped.
    pub(crate) fn place(&self, text: &str) -> Vec<Placed> {
        let refs: Vec<_> = self.faces.iter().map(|f| f.font_ref()).collect();
        let charmaps: Vec<_> = refs.iter().map(|r| r.as_ref().map(|r| r.charmap())).collect();
        let metrics: Vec<_> = refs
            .iter()
            .map(|r| r.as_ref().map(|r| r.glyph_metrics(Size::unscaled(), LocationRef::default())))
            .collect();
        let mut out = Vec::with_capacity(text.len());
        for ch in text.chars() {
            if ch.is_control() {
                continue;
            }
            let ch = if ch == '\u{3000}' || ch == '\t' { ' ' } else { ch };
            let found = (0..self.faces.len()).find_map(|i| {
                let gid = charmaps[i].as_ref()?.map(ch)?;
                (gid.to_u32() != 0).then_some((i, gid))
            });
            let (face, gid) = found.unwrap_or((0, skrifa::GlyphId::new(0)));
            let advance =
                metrics[face].as_ref().and_then(|m| m.advance_width(gid)).unwrap_or(0.0) / self.faces[face].upem;
            out.push(Placed { ch, face, glyph: gid.to_u32(), advance });
        }
        out
    }

    /// The width of `text` on one line at `size` points.
    pub fn width(&self, text: &str, size: f32) -> f32 {
        self.place(text).iter().map(|p| p.advance).sum::<f32>() * size
    }

    /// Break `text` (one paragraph) into lines no wider than `width` points at `size`, the first
    /// line `indent` points narrower.
    pub(crate) fn wrap(&self, text: &str, size: f32, width: f32, indent: f32) -> Vec<Vec<Placed>> {
        let chars = self.place(text);
        let mut lines = Vec::new();
        let mut start = 0;
        while start < chars.len() {
            let avail = if lines.is_empty() { width - indent } else { width };
            let mut x = 0.0;
            let mut end = start;
            while end < chars.len() && (x + chars[end].advance * size <= avail + 0.01 || end == start) {
                x += chars[end].advance * size;
                end += 1;
            }
            if end < chars.len() {
                // Step back to the last place a line may break; a word longer than the line breaks anywhere.
                let mut b = end;
                while b > start + 1 && !may_break(chars[b - 1].ch, chars[b].ch) {
                    b -= 1;
                }
                if b > start + 1 || may_break(chars[start].ch, chars[start + 1].ch) {
                    end = b;
                }
            }
            let mut line: Vec<Placed> = chars[start..end].to_vec();
            while line.last().is_some_and(|p| p.ch == ' ') {
                line.pop();
            }
            lines.push(line);
            start = end;
            while start < chars.len() && chars[start].ch == ' ' {
                start += 1;
            }
        }
        lines
    }
}

fn is_wide(c: char) -> bool {
    matches!(c as u32,
        0x2E80..=0x9FFF | 0xA000..=0xA4CF | 0xAC00..=0xD7AF | 0xF900..=0xFAFF | 0xFE30..=0xFE4F
        | 0xFF00..=0xFFEF | 0x20000..=0x3FFFF)
}

/// Never at the start of a line (行首禁则).
fn closing(c: char) -> bool {
    "，。、；：？！）】》」』〕〉”’…—·%,.;:?!)]}>".contains(c)
}

/// Never at the end of a line (行尾禁则).
fn opening(c: char) -> bool {
    "（【《「『〔〈“‘([{<".contains(c)
}

/// Whether a line may break between `a` and `b`.
fn may_break(a: char, b: char) -> bool {
    if closing(b) || opening(a) {
        return false;
    }
    if b == ' ' {
        return true;
    }
    a == ' ' || is_wide(a) || is_wide(b)
}

/// Glyphs of one run of characters in one face, with `extra` points after each character but the
/// last (for justified lines), as krilla draws them.
pub(crate) fn glyphs(run: &[Placed], size: f32, extra: f32) -> (String, Vec<KrillaGlyph>) {
    let mut text = String::new();
    let mut out = Vec::with_capacity(run.len());
    for p in run {
        let start = text.len();
        text.push(p.ch);
        out.push(KrillaGlyph {
            glyph_id: GlyphId::new(p.glyph),
            text_range: start..text.len(),
            x_advance: p.advance + extra / size,
            x_offset: 0.0,
            y_offset: 0.0,
            y_advance: 0.0,
            location: None,
        });
    }
    (text, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text_of(line: &[Placed]) -> String {
        line.iter().map(|p| p.ch).collect()
    }

    #[test]
    fn the_shipped_font_has_common_hanzi_and_not_every_rare_one() {
        let fonts = Fonts::shipped();
        assert!(fonts.covers("兹证明林静同学系我校计算机学院在读学生，学籍状态正常。2026年（ZM2026000001）"));
        // 堃 is outside GB 2312: no glyph without a fallback font.
        assert!(!fonts.covers("王堃"));
        let p = fonts.place("王堃");
        assert_ne!(p[0].glyph, 0);
        assert_eq!(p[1].glyph, 0);
        // Hanzi are one em wide; Latin letters narrower.
        assert!((fonts.width("证明", 10.0) - 20.0).abs() < 0.5, "{}", fonts.width("证明", 10.0));
        assert!(fonts.width("il", 10.0) < 10.0);
    }

    /// Debian's fonts-noto-cjk, as `.ci/run` and the Docker image install it.
    const SYSTEM_CJK: &str = "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc";

    #[test]
    fn rare_characters_come_from_the_fallback_font() {
        let fonts = Fonts::load(Some((Path::new(SYSTEM_CJK), 2))).expect("fonts-noto-cjk is installed");
        assert!(fonts.covers("王堃 喆 珺 彧 昇"));
        let p = fonts.place("王堃");
        assert_eq!((p[0].face, p[1].face), (0, 1), "the shipped font first, the fallback for 堃");
        assert!(Fonts::load(Some((Path::new("/no/such/font.ttf"), 0))).is_err());
        assert!(Fonts::load(Some((Path::new("/etc/hostname"), 0))).is_err(), "not a font");
    }

    #[test]
    fn lines_break_between_hanzi_but_not_before_closing_punctuation() {
        let fonts = Fonts::shipped();
        // Five hanzi fit a line of 50 points at 10 points each.
        let lines = fonts.wrap("一二三四五六七八九十", 10.0, 50.0, 0.0);
        assert_eq!(lines.iter().map(|l| text_of(l)).collect::<Vec<_>>(), ["一二三四五", "六七八九十"]);
        // The comma would start the second line: it goes down with the character before it.
        let lines = fonts.wrap("一二三四五，六七", 10.0, 50.0, 0.0);
        assert_eq!(text_of(&lines[0]), "一二三四");
        assert_eq!(text_of(&lines[1]), "五，六七");
        // An opening bracket never ends a line.
        let lines = fonts.wrap("一二三四（五六", 10.0, 50.0, 0.0);
        assert_eq!(text_of(&lines[0]), "一二三四");
        assert_eq!(text_of(&lines[1]), "（五六");
        // The indent narrows the first line only.
        let lines = fonts.wrap("一二三四五六七八", 10.0, 50.0, 20.0);
        assert_eq!(text_of(&lines[0]), "一二三");
        assert_eq!(text_of(&lines[1]), "四五六七八");
    }

    #[test]
    fn latin_words_stay_whole_unless_longer_than_the_line() {
        let fonts = Fonts::shipped();
        let width = fonts.width("hello world", 10.0);
        let lines = fonts.wrap("hello world again", 10.0, width + 1.0, 0.0);
        assert_eq!(text_of(&lines[0]), "hello world");
        assert_eq!(text_of(&lines[1]), "again");
        let url = "https://hall.example.edu.cn/verify/ABCDEFGHIJKLMNOPQRSTUVWXYZ";
        let lines = fonts.wrap(url, 10.0, 100.0, 0.0);
        assert!(lines.len() > 1);
        assert_eq!(lines.iter().map(|l| text_of(l)).collect::<String>(), url);
        assert!(lines.iter().all(|l| l.iter().map(|p| p.advance * 10.0).sum::<f32>() <= 100.01));
    }
}
