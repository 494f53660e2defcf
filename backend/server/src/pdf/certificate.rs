//! The certificate page: the school's heading, the title, the number, the body, the issuing
//! department with the date and its seal, and a QR code to the public verification page. The
//! signed certificate (JSON) travels inside the PDF as `certificate.json`, so `tongban verify`
//! checks a PDF offline.

use chrono::NaiveDate;

use super::{A4, Align, Attachment, Canvas, Fonts, GREY, Info, RED, Style};

/// The attached signed certificate's file name.
pub const ATTACHMENT: &str = "certificate.json";

/// What is printed when the certificate no longer holds (the PDF is drawn as of now).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    None,
    Revoked,
    Superseded,
    Expired,
}

/// Everything the page shows.
pub struct CertificatePage<'a> {
    pub school: &'a str,
    pub school_en: Option<&'a str>,
    pub title: &'a str,
    pub title_en: Option<&'a str>,
    pub number: &'a str,
    pub body: &'a str,
    pub issuer: &'a str,
    pub issued_on: NaiveDate,
    pub valid_until: Option<NaiveDate>,
    pub verify_url: &'a str,
    pub verify_code: &'a str,
    pub kid: &'a str,
    /// The department's seal image (PNG or JPEG); a drawn seal when absent.
    pub seal: Option<&'a [u8]>,
    pub mark: Mark,
    pub issued_at: chrono::DateTime<chrono::Utc>,
    /// The signed certificate, attached as [`ATTACHMENT`].
    pub document: &'a [u8],
}

/// `2026年12月1日`
pub fn chinese_date(d: NaiveDate) -> String {
    use chrono::Datelike;
    format!("{}年{}月{}日", d.year(), d.month(), d.day())
}

const LEFT: f32 = 80.0;
const RIGHT: f32 = A4.0 - 80.0;
const BODY_TOP: f32 = 268.0;
const BODY_BOTTOM: f32 = 585.0;

/// Render one certificate as an A4 PDF.
pub fn render(fonts: &Fonts, c: &CertificatePage<'_>) -> anyhow::Result<Vec<u8>> {
    let mut cv = Canvas::new(fonts, A4);
    let (w, h) = A4;
    // Frame: a heavy and a fine rule.
    cv.rect(28.0, 28.0, w - 56.0, h - 56.0, RED, 2.2);
    cv.rect(35.0, 35.0, w - 70.0, h - 70.0, RED, 0.6);

    cv.text(w / 2.0, 100.0, c.school, Style::new(20.0).bold().tracking(0.15), Align::Center);
    if let Some(en) = c.school_en {
        cv.text(w / 2.0, 118.0, en, Style::new(9.0).color(GREY), Align::Center);
    }
    let title_style = Style::new(30.0).bold().tracking(0.6);
    cv.text(w / 2.0 + title_style.tracking * title_style.size / 2.0, 178.0, c.title, title_style, Align::Center);
    if let Some(en) = c.title_en {
        cv.text(w / 2.0, 200.0, en, Style::new(11.0).color(GREY), Align::Center);
    }
    cv.text(RIGHT, 236.0, &format!("编号：{}", c.number), Style::new(11.0), Align::Right);

    // The body at the largest size from 15 pt down that fits its box.
    let width = RIGHT - LEFT;
    let mut size = 15.0;
    let lines = loop {
        let style = Style::new(size);
        let lines = cv.layout(c.body, width, style, 2.0);
        if BODY_TOP + lines.len() as f32 * size * 2.0 <= BODY_BOTTOM || size <= 9.0 {
            break lines;
        }
        size -= 0.5;
    };
    cv.draw_lines(LEFT, BODY_TOP, width, &lines, Style::new(size), size * 2.0, Align::Justify);

    // Issuer and date, the seal over them.
    let cx = RIGHT - 80.0;
    cv.text(cx, 625.0, c.issuer, Style::new(14.0), Align::Center);
    cv.text(cx, 650.0, &chinese_date(c.issued_on), Style::new(14.0), Align::Center);
    let seal_placed = match c.seal {
        Some(png) => cv.image(cx - 55.0, 580.0, 110.0, 110.0, png),
        None => false,
    };
    if !seal_placed {
        cv.drawn_seal(cx, 632.0, 52.0, c.issuer, "电子证照专用");
    }

    // Verification: QR code, address, code, key, validity.
    let qr = 92.0;
    let top = h - 70.0 - qr;
    cv.qr(LEFT - 6.0, top, qr, c.verify_url)?;
    let tx = LEFT + qr + 4.0;
    let small = Style::new(8.5).color(GREY);
    let mut y = top + 16.0;
    cv.text(tx, y, "扫描二维码或访问以下地址核验真伪 / Scan or visit to verify:", small, Align::Left);
    y += 13.0;
    let url_lines = cv.layout(c.verify_url, RIGHT - tx, small, 0.0);
    y = cv.draw_lines(tx, y, RIGHT - tx, &url_lines, small, 11.0, Align::Left);
    cv.text(tx, y + 2.0, &format!("核验码 Code：{}    签名密钥 Key：{}", c.verify_code, c.kid), small, Align::Left);
    let validity = match c.valid_until {
        Some(d) => format!("有效期至 Valid until：{}", chinese_date(d)),
        None => "长期有效 No expiry".to_owned(),
    };
    cv.text(tx, y + 15.0, &validity, small, Align::Left);

    let mark = match c.mark {
        Mark::None => None,
        Mark::Revoked => Some("已撤销 REVOKED"),
        Mark::Superseded => Some("已换发 SUPERSEDED"),
        Mark::Expired => Some("已过期 EXPIRED"),
    };
    if let Some(m) = mark {
        cv.banner(m);
        cv.text(LEFT, 236.0, &format!("本证照{m}"), Style::new(11.0).color(RED).bold(), Align::Left);
    }

    let title = format!("{} {}", c.title, c.number);
    cv.finish(
        &Info { title: &title, subject: c.title, author: c.issuer, created: c.issued_at },
        vec![Attachment {
            name: ATTACHMENT.to_owned(),
            mime: "application/json",
            description: "签名的电子证照（JSON，Ed25519 over RFC 8785）/ The signed certificate".to_owned(),
            data: c.document.to_vec(),
        }],
    )
}

impl Canvas<'_> {
    /// A large diagonal status mark across the page.
    fn banner(&mut self, text: &str) {
        let (w, h) = self.page_size();
        let style = Style::new(46.0).color(RED).bold().opacity(0.35);
        let width = self.width(text, style);
        let angle: f32 = -30.0;
        let (s, c) = angle.to_radians().sin_cos();
        // Centre the run on the page centre along its own direction.
        let (cx, cy) = (w / 2.0 - c * width / 2.0, h / 2.0 - s * width / 2.0);
        self.turned_run(cx, cy, text, style, angle);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page<'a>(body: &'a str, mark: Mark) -> CertificatePage<'a> {
        CertificatePage {
            school: "湖南环境生物职业技术学院",
            school_en: Some("Hunan Environmental Biological Polytechnic"),
            title: "在读证明",
            title_en: Some("Certificate of Enrolment"),
            number: "ZM2026000001",
            body,
            issuer: "学生工作处",
            issued_on: NaiveDate::from_ymd_opt(2026, 12, 1).unwrap_or_default(),
            valid_until: NaiveDate::from_ymd_opt(2027, 3, 1),
            verify_url: "http://127.0.0.1:8080/verify/AbCdEf",
            verify_code: "AbCdEf",
            kid: "k1",
            seal: None,
            mark,
            issued_at: chrono::DateTime::from_timestamp(1_764_547_200, 0).unwrap_or_default(),
            document: br#"{"number":"ZM2026000001"}"#,
        }
    }

    #[test]
    fn renders_a_pdf_that_carries_the_signed_certificate() {
        let fonts = Fonts::shipped();
        let pdf = render(&fonts, &page("兹证明林静同学系我校在读学生。\n特此证明。", Mark::None)).expect("render");
        assert!(pdf.starts_with(b"%PDF-"));
        let files = crate::pdf::read::attachments(&pdf).expect("read back");
        assert_eq!(files, vec![(ATTACHMENT.to_owned(), br#"{"number":"ZM2026000001"}"#.to_vec())]);
        // A long body still fits one page: the type shrinks.
        let long = "兹证明林静同学系我校计算机学院在读学生，学籍状态正常。".repeat(40);
        let pdf = render(&fonts, &page(&long, Mark::Revoked)).expect("render long");
        assert!(pdf.len() > 1000);
    }
}
