//! PDF documents: certificates (电子证照) and archive summaries, drawn with krilla over the
//! shipped CJK font, and read back (the signed certificate a PDF carries) for `tongban verify`.
//!
//! Drawing is recorded as operations on pages first ([`Canvas`]) and written out at the end, so
//! layout code can flow across pages without holding krilla's borrows.

pub mod certificate;
pub mod read;
pub mod requirement;
pub mod summary;

mod text;

use krilla::color::rgb;
use krilla::embed::{AssociationKind, EmbeddedFile, MimeType};
use krilla::geom::{Path, PathBuilder, Point, Rect, Size, Transform};
use krilla::image::Image;
use krilla::metadata::{DateTime, Metadata};
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::text::KrillaGlyph;
pub use text::Fonts;
use text::Placed;

/// A4 portrait, in points.
pub const A4: (f32, f32) = (595.28, 841.89);

/// Whether `data` is a PNG or JPEG image krilla can place.
pub fn is_image(data: &[u8]) -> bool {
    let bytes: krilla::Data = data.to_vec().into();
    Image::from_png(bytes.clone(), true).is_ok() || Image::from_jpeg(bytes, true).is_ok()
}

/// An sRGB colour.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rgb(pub u8, pub u8, pub u8);

pub const BLACK: Rgb = Rgb(0x1a, 0x1a, 0x1a);
pub const GREY: Rgb = Rgb(0x66, 0x66, 0x66);
/// 印泥红: seals, borders, status marks.
pub const RED: Rgb = Rgb(0xc8, 0x10, 0x2e);

fn paint(c: Rgb) -> krilla::paint::Paint {
    rgb::Color::new(c.0, c.1, c.2).into()
}

fn fill(c: Rgb, opacity: f32) -> Fill {
    Fill { paint: paint(c), opacity: NormalizedF32::new(opacity).unwrap_or(NormalizedF32::ONE), ..Fill::default() }
}

/// How a line of text is aligned in its box.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Center,
    Right,
    /// Both edges (两端对齐), but for the paragraph's last line.
    Justify,
}

/// The look of a piece of text.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub size: f32,
    pub color: Rgb,
    /// Drawn with a thin outline as well: the shipped font has one weight.
    pub bold: bool,
    /// Extra space after each character, in em (字距).
    pub tracking: f32,
    pub opacity: f32,
}

impl Style {
    pub fn new(size: f32) -> Style {
        Style { size, color: BLACK, bold: false, tracking: 0.0, opacity: 1.0 }
    }
    pub fn bold(self) -> Style {
        Style { bold: true, ..self }
    }
    pub fn color(self, color: Rgb) -> Style {
        Style { color, ..self }
    }
    pub fn tracking(self, tracking: f32) -> Style {
        Style { tracking, ..self }
    }
    pub fn opacity(self, opacity: f32) -> Style {
        Style { opacity, ..self }
    }
}

enum Op {
    Glyphs {
        x: f32,
        y: f32,
        face: usize,
        text: String,
        glyphs: Vec<KrillaGlyph>,
        style: Style,
        transform: Option<Transform>,
    },
    Path {
        path: Path,
        fill: Option<(Rgb, f32)>,
        stroke: Option<(Rgb, f32, f32)>,
    },
    Image {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        image: Image,
    },
}

/// Pages of recorded drawing, written out by [`Canvas::finish`]. Coordinates are points from the
/// top-left corner; text is placed by its baseline.
pub struct Canvas<'f> {
    fonts: &'f Fonts,
    size: (f32, f32),
    pages: Vec<Vec<Op>>,
    /// The page drawn on: the last unless [`Canvas::on_page`] says otherwise.
    target: Option<usize>,
}

/// What the PDF says about itself.
pub struct Info<'a> {
    pub title: &'a str,
    pub subject: &'a str,
    pub author: &'a str,
    pub created: chrono::DateTime<chrono::Utc>,
}

/// A file carried inside the PDF.
pub struct Attachment {
    pub name: String,
    pub mime: &'static str,
    pub description: String,
    pub data: Vec<u8>,
}

impl<'f> Canvas<'f> {
    pub fn new(fonts: &'f Fonts, size: (f32, f32)) -> Canvas<'f> {
        Canvas { fonts, size, pages: vec![Vec::new()], target: None }
    }

    pub fn fonts(&self) -> &'f Fonts {
        self.fonts
    }

    pub fn page_size(&self) -> (f32, f32) {
        self.size
    }

    pub fn new_page(&mut self) {
        self.pages.push(Vec::new());
    }

    pub fn page_count(&self) -> usize {
        self.pages.len()
    }

    fn push(&mut self, op: Op) {
        let i = self.target.unwrap_or(self.pages.len().saturating_sub(1));
        if let Some(page) = self.pages.get_mut(i) {
            page.push(op);
        }
    }

    /// Draw on an earlier page (page numbers once the count is known).
    pub fn on_page(&mut self, i: usize, f: impl FnOnce(&mut Canvas<'f>)) {
        let before = self.target.replace(i);
        f(self);
        self.target = before;
    }

    fn run(&mut self, x: f32, y: f32, run: &[Placed], style: Style, extra: f32, transform: Option<Transform>) -> f32 {
        // Split into runs of one face each.
        let mut cursor = x;
        let mut i = 0;
        while i < run.len() {
            let face = run[i].face;
            let mut j = i;
            while j < run.len() && run[j].face == face {
                j += 1;
            }
            let gap = style.tracking * style.size + extra;
            let (text, glyphs) = text::glyphs(&run[i..j], style.size, gap);
            let width: f32 = glyphs.iter().map(|g| g.x_advance).sum::<f32>() * style.size;
            self.push(Op::Glyphs { x: cursor, y, face, text, glyphs, style, transform });
            cursor += width;
            i = j;
        }
        cursor - x
    }

    /// The width of `s` in `style` on one line.
    pub fn width(&self, s: &str, style: Style) -> f32 {
        let placed = self.fonts.place(s);
        placed.iter().map(|p| p.advance * style.size).sum::<f32>() + style.tracking * style.size * placed.len() as f32
    }

    /// One line of text at a baseline, aligned on `x` (left edge, centre or right edge).
    pub fn text(&mut self, x: f32, y: f32, s: &str, style: Style, align: Align) {
        let w = self.width(s, style) - style.tracking * style.size;
        let left = match align {
            Align::Center => x - w / 2.0,
            Align::Right => x - w,
            Align::Left | Align::Justify => x,
        };
        let placed = self.fonts.place(s);
        self.run(left, y, &placed, style, 0.0, None);
    }

    /// Lay out a paragraph in a box `width` wide from the baseline `y` of its first line, each
    /// line `leading` below the last; the first line indented by `indent` em. Returns the lines'
    /// baselines and text, for the caller to draw with [`Canvas::draw_lines`] (or to measure).
    pub fn layout(&self, s: &str, width: f32, style: Style, indent: f32) -> Vec<Line> {
        s.split('\n')
            .flat_map(|para| {
                let lines = self.fonts.wrap(para, style.size, width, indent * style.size);
                let n = lines.len();
                let mut out: Vec<Line> = lines
                    .into_iter()
                    .enumerate()
                    .map(|(i, placed)| Line {
                        placed,
                        indent: if i == 0 { indent * style.size } else { 0.0 },
                        last: i + 1 == n,
                    })
                    .collect();
                if out.is_empty() {
                    out.push(Line { placed: Vec::new(), indent: 0.0, last: true });
                }
                out
            })
            .collect()
    }

    /// Draw laid-out lines from baseline `y`, `leading` apart; returns the baseline after the last.
    #[allow(clippy::too_many_arguments)]
    pub fn draw_lines(
        &mut self,
        x: f32,
        y: f32,
        width: f32,
        lines: &[Line],
        style: Style,
        leading: f32,
        align: Align,
    ) -> f32 {
        let mut y = y;
        for line in lines {
            let natural: f32 = line.placed.iter().map(|p| p.advance * style.size).sum::<f32>()
                + style.tracking * style.size * line.placed.len().saturating_sub(1) as f32;
            let room = width - line.indent;
            let (left, extra) = match align {
                Align::Justify if !line.last && line.placed.len() > 1 => {
                    (x + line.indent, ((room - natural) / (line.placed.len() - 1) as f32).max(0.0))
                }
                Align::Center => (x + line.indent + (room - natural) / 2.0, 0.0),
                Align::Right => (x + width - natural, 0.0),
                _ => (x + line.indent, 0.0),
            };
            self.run(left, y, &line.placed, style, extra, None);
            y += leading;
        }
        y
    }

    /// One character drawn centred on (`cx`, `cy`) and turned by `angle` degrees (seal text).
    fn turned_char(&mut self, cx: f32, cy: f32, ch: char, style: Style, angle: f32) {
        let placed = self.fonts.place(&ch.to_string());
        let w: f32 = placed.iter().map(|p| p.advance * style.size).sum();
        let (s, c) = angle.to_radians().sin_cos();
        let t = Transform::from_row(c, s, -s, c, cx, cy);
        // Centre the glyph box on the origin: the baseline sits about 0.38 em below the centre.
        self.run(-w / 2.0, style.size * 0.38, &placed, style, 0.0, Some(t));
    }

    /// A line of text from (`x`, `y`) on its baseline, turned by `angle` degrees about that point.
    pub fn turned_run(&mut self, x: f32, y: f32, s: &str, style: Style, angle: f32) {
        let placed = self.fonts.place(s);
        let (sin, cos) = angle.to_radians().sin_cos();
        self.run(0.0, 0.0, &placed, style, 0.0, Some(Transform::from_row(cos, sin, -sin, cos, x, y)));
    }

    /// A filled and/or stroked path.
    pub fn path(&mut self, path: Path, fill: Option<(Rgb, f32)>, stroke: Option<(Rgb, f32, f32)>) {
        self.push(Op::Path { path, fill, stroke });
    }

    /// A straight line.
    pub fn line(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, color: Rgb, width: f32) {
        let mut pb = PathBuilder::new();
        pb.move_to(x1, y1);
        pb.line_to(x2, y2);
        if let Some(p) = pb.finish() {
            self.path(p, None, Some((color, width, 1.0)));
        }
    }

    /// A rectangle's outline.
    pub fn rect(&mut self, x: f32, y: f32, w: f32, h: f32, color: Rgb, width: f32) {
        let mut pb = PathBuilder::new();
        if let Some(r) = Rect::from_xywh(x, y, w, h) {
            pb.push_rect(r);
        }
        if let Some(p) = pb.finish() {
            self.path(p, None, Some((color, width, 1.0)));
        }
    }

    /// A filled rectangle.
    pub fn fill_rect(&mut self, x: f32, y: f32, w: f32, h: f32, color: Rgb, opacity: f32) {
        let mut pb = PathBuilder::new();
        if let Some(r) = Rect::from_xywh(x, y, w, h) {
            pb.push_rect(r);
        }
        if let Some(p) = pb.finish() {
            self.path(p, Some((color, opacity)), None);
        }
    }

    /// A PNG or JPEG image scaled into the box; `false` when the bytes are not an image.
    pub fn image(&mut self, x: f32, y: f32, w: f32, h: f32, data: &[u8]) -> bool {
        let bytes: krilla::Data = data.to_vec().into();
        let image = Image::from_png(bytes.clone(), true).or_else(|_| Image::from_jpeg(bytes, true));
        match image {
            Ok(image) => {
                self.push(Op::Image { x, y, w, h, image });
                true
            }
            Err(_) => false,
        }
    }

    /// A QR code (error correction M, quiet zone of four modules) of `data` in a square of `side`
    /// points at (`x`, `y`).
    pub fn qr(&mut self, x: f32, y: f32, side: f32, data: &str) -> anyhow::Result<()> {
        let code = qrcode::QrCode::with_error_correction_level(data.as_bytes(), qrcode::EcLevel::M)?;
        let n = code.width();
        let colors = code.to_colors();
        let quiet = 4;
        let module = side / (n + 2 * quiet) as f32;
        self.fill_rect(x, y, side, side, Rgb(255, 255, 255), 1.0);
        let mut pb = PathBuilder::new();
        for row in 0..n {
            let mut col = 0;
            while col < n {
                if colors[row * n + col] == qrcode::Color::Dark {
                    let start = col;
                    while col < n && colors[row * n + col] == qrcode::Color::Dark {
                        col += 1;
                    }
                    let rx = x + (quiet + start) as f32 * module;
                    let ry = y + (quiet + row) as f32 * module;
                    if let Some(r) = Rect::from_xywh(rx, ry, (col - start) as f32 * module, module) {
                        pb.push_rect(r);
                    }
                } else {
                    col += 1;
                }
            }
        }
        if let Some(p) = pb.finish() {
            self.path(p, Some((Rgb(0, 0, 0), 1.0)), None);
        }
        Ok(())
    }

    /// A round seal (公章样式) of `name` along the upper arc, a star and `caption` below it,
    /// centred on (`cx`, `cy`) with radius `r`: the slot a department's seal image takes when
    /// there is none.
    pub fn drawn_seal(&mut self, cx: f32, cy: f32, r: f32, name: &str, caption: &str) {
        let ink = 0.85;
        if let Some(ring) = circle(cx, cy, r - r * 0.04) {
            self.path(ring, None, Some((RED, r * 0.07, ink)));
        }
        if let Some(star) = star(cx, cy, r * 0.3) {
            self.path(star, Some((RED, ink)), None);
        }
        let chars: Vec<char> = name.chars().filter(|c| !c.is_whitespace()).collect();
        if !chars.is_empty() {
            let n = chars.len();
            // Up to 240 degrees of arc, centred on the top; characters no wider than the arc allows.
            let span = (n as f32 * 24.0).min(240.0);
            let step = if n > 1 { span / (n - 1) as f32 } else { 0.0 };
            let size =
                (r * 0.26).min(2.0 * std::f32::consts::PI * r * 0.72 * (span.max(24.0) / 360.0) / n as f32 * 0.95);
            let style = Style::new(size).color(RED).bold().opacity(ink);
            for (i, ch) in chars.iter().enumerate() {
                let angle = -span / 2.0 + step * i as f32;
                let (s, c) = angle.to_radians().sin_cos();
                let (px, py) = (cx + r * 0.7 * s, cy - r * 0.7 * c);
                self.turned_char(px, py, *ch, style, angle);
            }
        }
        if !caption.is_empty() {
            let size = r * 0.17;
            self.text(cx, cy + r * 0.62, caption, Style::new(size).color(RED).bold().opacity(ink), Align::Center);
        }
    }

    /// Write the pages out, with metadata and attached files.
    pub fn finish(self, info: &Info<'_>, attachments: Vec<Attachment>) -> anyhow::Result<Vec<u8>> {
        use chrono::{Datelike, Timelike};
        let mut doc = krilla::Document::new();
        let (w, h) = self.size;
        for page in self.pages {
            let settings = PageSettings::from_wh(w, h).ok_or_else(|| anyhow::anyhow!("page size"))?;
            let mut p = doc.start_page_with(settings);
            let mut s = p.surface();
            for op in page {
                match op {
                    Op::Glyphs { x, y, face, text, glyphs, style, transform } => {
                        if let Some(t) = transform {
                            s.push_transform(&t);
                        }
                        s.set_fill(Some(fill(style.color, style.opacity)));
                        s.set_stroke(style.bold.then(|| Stroke {
                            paint: paint(style.color),
                            width: style.size * 0.035,
                            opacity: NormalizedF32::new(style.opacity).unwrap_or(NormalizedF32::ONE),
                            ..Stroke::default()
                        }));
                        s.draw_glyphs(Point::from_xy(x, y), &glyphs, self.fonts.font(face), &text, style.size, false);
                        if transform.is_some() {
                            s.pop();
                        }
                    }
                    Op::Path { path, fill: f, stroke } => {
                        s.set_fill(f.map(|(c, o)| fill(c, o)));
                        s.set_stroke(stroke.map(|(c, width, o)| Stroke {
                            paint: paint(c),
                            width,
                            opacity: NormalizedF32::new(o).unwrap_or(NormalizedF32::ONE),
                            ..Stroke::default()
                        }));
                        s.draw_path(&path);
                    }
                    Op::Image { x, y, w, h, image } => {
                        if let Some(size) = Size::from_wh(w, h) {
                            s.push_transform(&Transform::from_translate(x, y));
                            s.draw_image(image, size);
                            s.pop();
                        }
                    }
                }
            }
            s.finish();
            p.finish();
        }
        let c = info.created;
        let created = DateTime::new(c.year().clamp(0, 9999) as u16)
            .month(c.month() as u8)
            .day(c.day() as u8)
            .hour(c.hour() as u8)
            .minute(c.minute() as u8)
            .second(c.second() as u8)
            .utc_offset_hour(0)
            .utc_offset_minute(0);
        doc.set_metadata(
            Metadata::new()
                .title(info.title.to_owned())
                .description(info.subject.to_owned())
                .authors(vec![info.author.to_owned()])
                .creator("通办 Tongban".to_owned())
                .language("zh-CN".to_owned())
                .creation_date(created),
        );
        for a in attachments {
            doc.embed_file(EmbeddedFile {
                path: a.name,
                mime_type: MimeType::new(a.mime),
                description: Some(a.description),
                association_kind: AssociationKind::Source,
                data: a.data.into(),
                modification_date: Some(created),
                compress: Some(true),
                location: None,
            })
            .ok_or_else(|| anyhow::anyhow!("two attachments with one name"))?;
        }
        doc.finish().map_err(|e| anyhow::anyhow!("PDF: {e:?}"))
    }
}

/// One laid-out line of a paragraph.
pub struct Line {
    placed: Vec<Placed>,
    indent: f32,
    last: bool,
}

fn circle(cx: f32, cy: f32, r: f32) -> Option<Path> {
    let k = 0.552_284_8 * r;
    let mut pb = PathBuilder::new();
    pb.move_to(cx + r, cy);
    pb.cubic_to(cx + r, cy + k, cx + k, cy + r, cx, cy + r);
    pb.cubic_to(cx - k, cy + r, cx - r, cy + k, cx - r, cy);
    pb.cubic_to(cx - r, cy - k, cx - k, cy - r, cx, cy - r);
    pb.cubic_to(cx + k, cy - r, cx + r, cy - k, cx + r, cy);
    pb.close();
    pb.finish()
}

fn star(cx: f32, cy: f32, r: f32) -> Option<Path> {
    let mut pb = PathBuilder::new();
    for i in 0..10 {
        let radius = if i % 2 == 0 { r } else { r * 0.382 };
        let a = (i as f32 * 36.0).to_radians();
        let (x, y) = (cx + radius * a.sin(), cy - radius * a.cos());
        if i == 0 { pb.move_to(x, y) } else { pb.line_to(x, y) }
    }
    pb.close();
    pb.finish()
}
