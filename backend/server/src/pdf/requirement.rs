//! The filled 《网上办事流程建设需求计划审批表》 in the layout of the regulation's attachment: the
//! title, the date of application, the grid of fields and opinions (two opinion boxes a row where
//! the attachment has two), each opinion with its decision, signer and date, and the notes.
//! Rows taller than what is left of a page continue on the next one.

use super::{A4, Align, Canvas, Fonts, GREY, Info, Line, RED, Rgb, Style};

/// One signed opinion (意见).
pub struct Opinion {
    /// Who signed, e.g. 周学工 or 教务处 郑教务.
    pub by: String,
    /// 同意, 不同意 or 退回.
    pub decision: String,
    /// The opinion's text.
    pub text: String,
    /// The day, e.g. 2026年12月2日.
    pub date: String,
}

/// An opinion box of the form.
pub struct OpinionBox {
    /// The attachment's caption, e.g. 申请部门意见.
    pub title: String,
    /// Opinions given, in order (several for the related departments, or after a return).
    pub opinions: Vec<Opinion>,
    /// Why the box stays empty when it does (not needed, or not reached yet).
    pub empty_note: String,
}

/// The form as filled.
pub struct RequirementForm {
    /// The school (the organisation's root), printed before the form's title.
    pub school: String,
    /// The approval affair's number.
    pub number: String,
    /// 申报时间 as year, month, day.
    pub applied_on: Option<(i32, u32, u32)>,
    pub department: String,
    pub process_name: String,
    pub summary: String,
    pub reasons: String,
    /// File names of the detailed explanation (可另附详细说明).
    pub reasons_files: Vec<String>,
    /// The attached materials (注1), as "业务流程图：flow.bpmn" lines.
    pub materials: Vec<String>,
    pub contact: String,
    /// 申请部门意见, 申请部门分管院领导意见.
    pub applying: [OpinionBox; 2],
    /// 流程相关职能部门意见.
    pub related: OpinionBox,
    /// 信息化管理办公室意见, 分管院领导意见.
    pub it: [OpinionBox; 2],
    /// 院长意见, 书记意见.
    pub leaders: [OpinionBox; 2],
    /// The request's state in words, e.g. 已批准 or 审批中.
    pub state: String,
    pub created: chrono::DateTime<chrono::Utc>,
}

const MARGIN: f32 = 50.0;
const TOP: f32 = 56.0;
const BOTTOM: f32 = A4.1 - 56.0;
const SIZE: f32 = 10.5;
const LEADING: f32 = 16.0;
const PAD: f32 = 6.0;
const LABEL_W: f32 = 118.0;
const RULE: Rgb = Rgb(0x1a, 0x1a, 0x1a);
/// The smallest height of an opinion box, so an empty one still looks like a box to sign in.
const OPINION_MIN: f32 = 96.0;

/// What one cell of a row shows: laid-out lines, each with its style and alignment.
struct Cell {
    x: f32,
    w: f32,
    lines: Vec<(Line, Style, Align)>,
}

struct Page<'f> {
    cv: Canvas<'f>,
    y: f32,
}

impl<'f> Page<'f> {
    fn lines(&self, s: &str, w: f32, style: Style, align: Align, out: &mut Vec<(Line, Style, Align)>) {
        for l in self.cv.layout(s, w - 2.0 * PAD, style, 0.0) {
            out.push((l, style, align));
        }
    }

    fn opinion_cell(&self, x: f32, w: f32, b: &OpinionBox) -> Cell {
        let mut lines = Vec::new();
        self.lines(&format!("{}：", b.title), w, Style::new(SIZE).bold(), Align::Left, &mut lines);
        if b.opinions.is_empty() {
            self.lines(&b.empty_note, w, Style::new(SIZE - 1.0).color(GREY), Align::Left, &mut lines);
        }
        for o in &b.opinions {
            let decision = Style::new(SIZE).color(if o.decision == "同意" { RULE } else { RED });
            self.lines(&format!("【{}】{}", o.decision, o.text), w, decision, Align::Left, &mut lines);
            self.lines(&format!("签字：{}　　{}", o.by, o.date), w, Style::new(SIZE - 0.5), Align::Right, &mut lines);
        }
        Cell { x, w, lines }
    }

    /// Draw a row of cells, continuing on new pages while it does not fit; `min` is the least
    /// height of the row's last (or only) part.
    fn row(&mut self, mut cells: Vec<Cell>, min: f32) {
        let total = cells.iter().map(|c| c.lines.len()).max().unwrap_or(0);
        let mut done = 0;
        loop {
            let room = ((BOTTOM - self.y - 2.0 * PAD) / LEADING).floor().max(0.0) as usize;
            let left = total - done;
            let fits_all = left <= room && self.y + (left as f32 * LEADING + 2.0 * PAD).max(min) <= BOTTOM;
            if room == 0 || (!fits_all && room < 2 && self.y > TOP + 1.0) {
                self.cv.new_page();
                self.y = TOP;
                continue;
            }
            let take = left.min(room);
            let mut h = take as f32 * LEADING + 2.0 * PAD;
            if done + take == total {
                h = h.max(min).min(BOTTOM - self.y);
            }
            for c in &mut cells {
                let mut y = self.y + PAD + SIZE;
                let end = (done + take).min(c.lines.len());
                for (line, style, align) in c.lines.get(done..end).unwrap_or(&[]) {
                    self.cv.draw_lines(
                        c.x + PAD,
                        y,
                        c.w - 2.0 * PAD,
                        std::slice::from_ref(line),
                        *style,
                        LEADING,
                        *align,
                    );
                    y += LEADING;
                }
                self.cv.rect(c.x, self.y, c.w, h, RULE, 0.6);
            }
            self.y += h;
            done += take;
            if done >= total {
                return;
            }
            self.cv.new_page();
            self.y = TOP;
        }
    }

    fn labelled(&mut self, label: &str, value: &str) {
        let width = A4.0 - 2.0 * MARGIN;
        let mut l = Vec::new();
        self.lines(label, LABEL_W, Style::new(SIZE).bold(), Align::Center, &mut l);
        let mut v = Vec::new();
        self.lines(value, width - LABEL_W, Style::new(SIZE), Align::Left, &mut v);
        let cells =
            vec![Cell { x: MARGIN, w: LABEL_W, lines: l }, Cell { x: MARGIN + LABEL_W, w: width - LABEL_W, lines: v }];
        self.row(cells, 28.0);
    }

    fn two_opinions(&mut self, boxes: &[OpinionBox; 2]) {
        let half = (A4.0 - 2.0 * MARGIN) / 2.0;
        let cells = vec![self.opinion_cell(MARGIN, half, &boxes[0]), self.opinion_cell(MARGIN + half, half, &boxes[1])];
        self.row(cells, OPINION_MIN);
    }
}

/// Render the form as an A4 PDF.
pub fn render(fonts: &Fonts, f: &RequirementForm) -> anyhow::Result<Vec<u8>> {
    let info =
        Info {
            title: "网上办事流程建设需求计划审批表", subject: &f.number, author: &f.school, created: f.created
        };
    draw(fonts, f).finish(&info, Vec::new())
}

/// The form drawn on as many pages as it needs.
fn draw<'f>(fonts: &'f Fonts, f: &RequirementForm) -> Canvas<'f> {
    let width = A4.0 - 2.0 * MARGIN;
    let mut p = Page { cv: Canvas::new(fonts, A4), y: TOP };
    let title = format!("{}网上办事流程建设需求计划审批表", f.school);
    let style = Style::new(16.0).bold().tracking(0.05);
    let lines = p.cv.layout(&title, width, style, 0.0);
    p.y = p.cv.draw_lines(MARGIN, p.y + 16.0, width, &lines, style, 24.0, Align::Center);
    let date = match f.applied_on {
        Some((y, m, d)) => format!("申报时间：{y} 年 {m} 月 {d} 日"),
        None => "申报时间：      年     月     日".to_owned(),
    };
    p.cv.text(MARGIN, p.y + 4.0, &format!("编号：{}", f.number), Style::new(SIZE - 0.5).color(GREY), Align::Left);
    p.cv.text(A4.0 - MARGIN, p.y + 4.0, &date, Style::new(SIZE), Align::Right);
    p.y += 14.0;

    p.labelled("申请建设部门", &f.department);
    p.labelled("流程名称", &f.process_name);
    p.labelled("流程建设主要内容简要说明", &f.summary);
    let mut reasons = Vec::new();
    p.lines("申请原因及要求：（可另附详细说明）", width, Style::new(SIZE).bold(), Align::Left, &mut reasons);
    p.lines(&f.reasons, width, Style::new(SIZE), Align::Left, &mut reasons);
    if !f.reasons_files.is_empty() {
        let files = format!("另附详细说明：{}", f.reasons_files.join("、"));
        p.lines(&files, width, Style::new(SIZE - 1.0).color(GREY), Align::Left, &mut reasons);
    }
    p.row(vec![Cell { x: MARGIN, w: width, lines: reasons }], 60.0);
    p.two_opinions(&f.applying);
    let related = p.opinion_cell(MARGIN, width, &f.related);
    p.row(vec![related], OPINION_MIN);
    p.two_opinions(&f.it);
    p.two_opinions(&f.leaders);

    let mut notes = Vec::new();
    let small = Style::new(SIZE - 1.5);
    for s in [
        "注：1、此表需附以下材料：⑴业务流程情况说明材料，包括业务流程建设涉及的文件信息、联系人等。⑵业务流程图，需明确每个节点的负责人。",
        "2、一张表只申报一个流程。",
        "3、网上办事流程中如有院长、书记签署意见环节，此表需院长、书记审批。",
    ] {
        for l in p.cv.layout(s, width, small, 0.0) {
            notes.push((l, small, Align::Left));
        }
    }
    if !f.materials.is_empty() {
        let s = format!("所附材料：{}；联系人：{}", f.materials.join("；"), f.contact);
        for l in p.cv.layout(&s, width, small.color(GREY), 0.0) {
            notes.push((l, small.color(GREY), Align::Left));
        }
    }
    p.y += 4.0;
    for (line, style, align) in &notes {
        if p.y + LEADING > BOTTOM {
            p.cv.new_page();
            p.y = TOP;
        }
        p.cv.draw_lines(MARGIN, p.y + SIZE, width, std::slice::from_ref(line), *style, LEADING, *align);
        p.y += LEADING - 2.0;
    }

    let pages = p.cv.page_count();
    let mut cv = p.cv;
    let footer = format!("{} · {} · 由通办根据审批记录生成", f.number, f.state);
    for i in 0..pages {
        cv.on_page(i, |cv| {
            let y = A4.1 - 30.0;
            let small = Style::new(8.0).color(GREY);
            cv.text(MARGIN, y, &footer, small, Align::Left);
            cv.text(A4.0 - MARGIN, y, &format!("第 {} 页 / 共 {} 页", i + 1, pages), small, Align::Right);
        });
    }
    cv
}

#[cfg(test)]
mod tests {
    use super::*;

    fn boxed(title: &str, n: usize, text: &str) -> OpinionBox {
        OpinionBox {
            title: title.into(),
            opinions: (0..n)
                .map(|i| Opinion {
                    by: format!("签字人{i}"),
                    decision: "同意".into(),
                    text: text.into(),
                    date: "2026年12月2日".into(),
                })
                .collect(),
            empty_note: "（待签署）".into(),
        }
    }

    #[test]
    fn long_forms_continue_on_more_pages() {
        let fonts = Fonts::shipped();
        let long = "需要建设的内容很多。".repeat(400);
        let form = |reasons: &str| RequirementForm {
            school: "湖南环境生物职业技术学院".into(),
            number: "SW2026120200001".into(),
            applied_on: Some((2026, 12, 2)),
            department: "学生工作处".into(),
            process_name: "奖学金评定".into(),
            summary: "在线评定".into(),
            reasons: reasons.into(),
            reasons_files: vec!["说明.pdf".into()],
            materials: vec!["业务流程图：flow.bpmn".into()],
            contact: "周学工 0734-1234567".into(),
            applying: [boxed("申请部门意见", 1, "同意"), boxed("申请部门分管院领导意见", 1, "同意")],
            related: boxed("流程相关职能部门意见", 3, "同意"),
            it: [boxed("信息化管理办公室意见", 1, "同意"), boxed("分管院领导意见", 0, "")],
            leaders: [boxed("院长意见", 0, ""), boxed("书记意见", 0, "")],
            state: "审批中".into(),
            created: chrono::DateTime::from_timestamp(1_764_633_600, 0).unwrap_or_default(),
        };
        assert_eq!(draw(&fonts, &form("原因")).page_count(), 1, "a usual form fits one page");
        assert!(draw(&fonts, &form(&long)).page_count() >= 3, "a long reason continues on more pages");
        assert!(render(&fonts, &form(&long)).expect("render").starts_with(b"%PDF"));
    }
}
