//! Certificate PDF rendering, for the semester-start peak (开学季: thousands of 在读证明 a day):
//! one A4 certificate with the shipped CJK font subset into it, a QR code and the drawn seal.
//! `cargo bench -p tongban-server --bench pdf`; figures in docs/benchmarks.md.

use criterion::{Criterion, criterion_group, criterion_main};
use tongban_server::pdf::Fonts;
use tongban_server::pdf::certificate::{CertificatePage, Mark, render};

fn page(document: &[u8]) -> CertificatePage<'_> {
    CertificatePage {
        school: "湖南环境生物职业技术学院",
        school_en: Some("Hunan Environmental Biological Polytechnic"),
        title: "在读证明",
        title_en: Some("Certificate of Enrolment"),
        number: "ZM2026000001",
        body: "兹证明 林静 同学（学号：2024010101）系我校计算机学院在读学生，学籍状态正常，目前在校学习。\n\
               本证明用于出国/签证。\n特此证明。\n\
               本证明自签发之日起九十日内有效，可扫描二维码或访问验证地址在线核验真伪。",
        issuer: "学生工作处",
        issued_on: chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap_or_default(),
        valid_until: chrono::NaiveDate::from_ymd_opt(2027, 3, 1),
        verify_url: "https://hall.example.edu.cn/verify/Qm9vZ2llV29vZ2llMTIzNDU2",
        verify_code: "Qm9vZ2llV29vZ2llMTIzNDU2",
        kid: "k20261201",
        seal: None,
        mark: Mark::None,
        issued_at: chrono::DateTime::from_timestamp(1_764_547_200, 0).unwrap_or_default(),
        document,
    }
}

fn bench(c: &mut Criterion) {
    let fonts = Fonts::shipped();
    let doc = vec![b'x'; 2048];
    c.bench_function("certificate_pdf", |b| {
        b.iter(|| render(&fonts, &page(&doc)).map(|pdf| pdf.len()).unwrap_or_default())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
