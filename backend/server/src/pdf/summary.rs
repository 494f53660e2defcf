//! A flowing report over as many A4 pages as it needs: headed sections of labelled fields, text and
//! tables whose rows wrap and repeat their header on a new page. The archive summary of an affair
//! (办件归档表) is one.

use super::{A4, Align, Canvas, Fonts, GREY, Info, Rgb, Style};

/// One part of a report.
pub enum Block {
    /// A section heading.
    Heading(String),
    /// Label and value pairs, two columns.
    Fields(Vec<(String, String)>),
    /// A paragraph.
    Text(String),
    /// A table: column titles with their share of the width, then rows.
    Table { columns: Vec<(String, f32)>, rows: Vec<Vec<String>> },
}

/// A report: a heading block, then the blocks in order.
pub struct Report<'a> {
    pub school: &'a str,
    pub title: &'a str,
    /// Printed under the title and in every footer (the affair's number).
    pub reference: &'a str,
    pub author: &'a str,
    pub created: chrono::DateTime<chrono::Utc>,
    pub blocks: Vec<Block>,
}

const MARGIN: f32 = 56.0;
const TOP: f32 = 64.0;
const BOTTOM: f32 = A4.1 - 64.0;
const SIZE: f32 = 10.0;
const LEADING: f32 = 15.0;
const PAD: f32 = 4.0;
const RULE: Rgb = Rgb(0x99, 0x99, 0x99);

struct Flow<'f> {
    cv: Canvas<'f>,
    y: f32,
}

impl Flow<'_> {
    fn room(&mut self, h: f32) {
        if self.y + h > BOTTOM && self.y > TOP + 1.0 {
            self.cv.new_page();
            self.y = TOP;
        }
    }

    fn heading(&mut self, s: &str) {
        self.room(LEADING * 3.0);
        self.y += 10.0;
        let style = Style::new(12.5).bold();
        self.cv.text(MARGIN, self.y + 12.0, s, style, Align::Left);
        self.y += 18.0;
        self.cv.line(MARGIN, self.y, A4.0 - MARGIN, self.y, Rgb(0x33, 0x33, 0x33), 0.8);
        self.y += 6.0;
    }

    fn text(&mut self, s: &str) {
        let width = A4.0 - 2.0 * MARGIN;
        let style = Style::new(SIZE);
        let lines = self.cv.layout(s, width, style, 0.0);
        for line in lines.chunks(1) {
            self.room(LEADING);
            self.cv.draw_lines(MARGIN, self.y + SIZE, width, line, style, LEADING, Align::Left);
            self.y += LEADING;
        }
        self.y += 4.0;
    }

    /// A table row: each cell wrapped in its column; returns nothing, moves down.
    fn row(
        &mut self,
        widths: &[f32],
        cells: &[String],
        style: Style,
        shade: bool,
        header: Option<(&[f32], &[String])>,
    ) {
        let laid: Vec<_> =
            cells.iter().zip(widths).map(|(c, w)| self.cv.layout(c, w - 2.0 * PAD, style, 0.0)).collect();
        let lines = laid.iter().map(Vec::len).max().unwrap_or(1).max(1);
        let h = lines as f32 * LEADING + 2.0 * PAD - (LEADING - SIZE) + 2.0;
        if self.y + h > BOTTOM && self.y > TOP + 1.0 {
            self.cv.new_page();
            self.y = TOP;
            if let Some((hw, hc)) = header {
                self.row(hw, hc, Style::new(SIZE).bold(), true, None);
            }
        }
        let mut x = MARGIN;
        if shade {
            self.cv.fill_rect(MARGIN, self.y, widths.iter().sum(), h, Rgb(0xee, 0xee, 0xee), 1.0);
        }
        for (w, l) in widths.iter().zip(&laid) {
            self.cv.draw_lines(x + PAD, self.y + PAD + SIZE, w - 2.0 * PAD, l, style, LEADING, Align::Left);
            self.cv.rect(x, self.y, *w, h, RULE, 0.5);
            x += w;
        }
        self.y += h;
    }

    fn table(&mut self, columns: &[(String, f32)], rows: &[Vec<String>]) {
        let width = A4.0 - 2.0 * MARGIN;
        let total: f32 = columns.iter().map(|c| c.1).sum::<f32>().max(f32::EPSILON);
        let widths: Vec<f32> = columns.iter().map(|c| c.1 / total * width).collect();
        let titles: Vec<String> = columns.iter().map(|c| c.0.clone()).collect();
        self.room(LEADING * 3.0);
        self.row(&widths, &titles, Style::new(SIZE).bold(), true, None);
        for r in rows {
            let mut cells = r.clone();
            cells.resize(widths.len(), String::new());
            self.row(&widths, &cells, Style::new(SIZE), false, Some((&widths, &titles)));
        }
        self.y += 6.0;
    }

    fn fields(&mut self, pairs: &[(String, String)]) {
        let width = A4.0 - 2.0 * MARGIN;
        let widths = [width * 0.26, width * 0.74];
        for (k, v) in pairs {
            let cells = [k.clone(), if v.is_empty() { "—".to_owned() } else { v.clone() }];
            self.row(&widths, &cells, Style::new(SIZE), false, None);
        }
        self.y += 6.0;
    }
}

/// Render a report as an A4 PDF, "第 n 页 / 共 N 页" in every footer.
pub fn render(fonts: &Fonts, r: &Report<'_>) -> anyhow::Result<Vec<u8>> {
    let mut f = Flow { cv: Canvas::new(fonts, A4), y: TOP };
    f.cv.text(A4.0 / 2.0, f.y + 10.0, r.school, Style::new(11.0).color(GREY).tracking(0.1), Align::Center);
    f.cv.text(A4.0 / 2.0, f.y + 40.0, r.title, Style::new(20.0).bold().tracking(0.3), Align::Center);
    f.cv.text(A4.0 / 2.0, f.y + 60.0, r.reference, Style::new(10.0).color(GREY), Align::Center);
    f.y += 76.0;
    for b in &r.blocks {
        match b {
            Block::Heading(s) => f.heading(s),
            Block::Fields(pairs) => f.fields(pairs),
            Block::Text(s) => f.text(s),
            Block::Table { columns, rows } => f.table(columns, rows),
        }
    }
    let pages = f.cv.page_count();
    let mut cv = f.cv;
    for i in 0..pages {
        cv.on_page(i, |cv| {
            let y = A4.1 - 36.0;
            let small = Style::new(8.0).color(GREY);
            cv.text(MARGIN, y, r.reference, small, Align::Left);
            cv.text(A4.0 - MARGIN, y, &format!("第 {} 页 / 共 {} 页", i + 1, pages), small, Align::Right);
        });
    }
    cv.finish(&Info { title: r.title, subject: r.reference, author: r.author, created: r.created }, Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_reports_flow_over_pages() {
        let fonts = Fonts::shipped();
        let rows: Vec<Vec<String>> = (0..120)
            .map(|i| vec![format!("第{i}步"), "同意，请按规定办理。".repeat(3), "2026-12-01 10:00".into()])
            .collect();
        let report = Report {
            school: "湖南环境生物职业技术学院",
            title: "办件归档表",
            reference: "SW2026120100001",
            author: "通办",
            created: chrono::DateTime::from_timestamp(1_764_547_200, 0).unwrap_or_default(),
            blocks: vec![
                Block::Heading("基本信息".into()),
                Block::Fields(vec![("办件编号".into(), "SW2026120100001".into()), ("申请人".into(), String::new())]),
                Block::Heading("办理过程".into()),
                Block::Table {
                    columns: vec![("环节".into(), 1.0), ("意见".into(), 3.0), ("时间".into(), 1.5)], rows
                },
            ],
        };
        let pdf = render(&fonts, &report).expect("render");
        assert!(pdf.starts_with(b"%PDF-"));
        let pages = crate::pdf::read::page_count(&pdf).expect("read back");
        assert!(pages >= 3, "120 wrapped rows need several pages, got {pages}");
    }
}
