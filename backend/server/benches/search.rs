//! Guide search latency over 5,000 generated guides (quality.md: p99 < 20 ms).
//!
//! Run with `cargo bench -p tongban-server --bench search`. The guides are written to a fresh
//! SQLite database through the real migrations and loaded with `SearchIndex::rebuild`, exactly as
//! at server start; then Chinese, pinyin, initials, mixed and filtered queries are timed. Besides
//! criterion's means, the setup prints the rebuild time and p50/p99/max over 20,000 searches
//! cycling through every query. Results are recorded in `docs/benchmarks.md`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use chrono::Utc;
use criterion::{Criterion, criterion_group, criterion_main};
use sea_orm::{ActiveValue::Set, EntityTrait};
use serde_json::json;
use tongban_server::db::Db;
use tongban_server::entity::{category, department, guide, guide_version};
use tongban_server::services::search::{GuideQuery, SearchIndex};
use uuid::Uuid;

const GUIDES: usize = 5_000;

const SUBJECTS: &[&str] =
    &["学生", "教职工", "研究生", "毕业生", "新生", "校友", "留学生", "访客", "离退休人员", "实习生"];
const OBJECTS: &[&str] = &[
    "在读证明",
    "成绩单",
    "校园卡",
    "宿舍",
    "奖学金",
    "助学贷款",
    "网络账号",
    "学位证",
    "场地",
    "公章",
    "车辆",
    "图书证",
    "体检",
    "档案",
    "户口",
    "医保",
    "党组织关系",
    "工资",
    "差旅费",
    "科研项目",
    "实验室",
    "教室",
    "会议室",
    "设备",
];
const ACTIONS: &[&str] =
    &["申请", "补办", "打印", "变更", "查询", "审批", "报修", "注销", "借用", "转出", "开具", "报销", "预约", "续办"];
const SENTENCES: &[&str] = &[
    "具有我院正式学籍的全日制学生，当前学籍状态为在读。",
    "申请人须如实填写申请表，并上传身份证或学生证扫描件。",
    "材料齐全的，经办人在三个工作日内办结；材料不全的，一次性告知需补正的全部材料。",
    "本事项不收费。依据《湖南省行政事业性收费目录清单》。",
    "办理地点：行政楼一楼综合服务大厅；咨询电话 0731-88888888。",
    "网上办理流程：在线申请、辅导员审核、部门审批、办结归档，全程可查询进度。",
    "需加盖公章的纸质材料，请于办结后凭校园卡到窗口领取。",
    "因特殊原因不能按期办理的，可申请延期一次，延期不超过十个工作日。",
];

/// A small deterministic generator, so every run indexes the same guides.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % n
    }
}

async fn seed(db: &Db) {
    let now = Utc::now();
    let author = Uuid::now_v7();
    let mut depts = Vec::new();
    for (i, name) in ["教务处", "学生工作处", "财务处", "后勤保卫处", "信息化管理办公室", "人事处", "科研处", "图书馆"]
        .iter()
        .enumerate()
    {
        let id = Uuid::now_v7();
        department::Entity::insert(department::ActiveModel {
            id: Set(id),
            parent_id: Set(None),
            code: Set(format!("d{i}")),
            name: Set((*name).to_owned()),
            name_en: Set(None),
            kind: Set("office".into()),
            sort_order: Set(i as i32),
            active: Set(true),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
        })
        .exec(db.conn())
        .await
        .expect("department");
        depts.push(id);
    }
    let mut cats = Vec::new();
    for (i, name) in ["学籍学业", "生活服务", "财务报销", "人事服务", "网络信息", "科研管理"].iter().enumerate()
    {
        let id = Uuid::now_v7();
        category::Entity::insert(category::ActiveModel {
            id: Set(id),
            code: Set(format!("c{i}")),
            name: Set((*name).to_owned()),
            name_en: Set(None),
            description: Set(String::new()),
            icon: Set(None),
            sort_order: Set(i as i32),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
        })
        .exec(db.conn())
        .await
        .expect("category");
        cats.push(id);
    }
    let mut rng = Lcg(2026);
    let audiences = ["student", "staff", "alumni", "visitor"];
    let mut guides = Vec::new();
    let mut versions = Vec::new();
    for i in 0..GUIDES {
        let id = Uuid::now_v7();
        let name = if i == 0 {
            "在读证明".to_owned()
        } else {
            format!(
                "{}{}{}{}",
                SUBJECTS[rng.next(SUBJECTS.len())],
                OBJECTS[rng.next(OBJECTS.len())],
                ACTIONS[rng.next(ACTIONS.len())],
                if i % 7 == 0 { format!("（{}）", i % 97) } else { String::new() }
            )
        };
        let body: Vec<&str> = (0..12).map(|_| SENTENCES[rng.next(SENTENCES.len())]).collect();
        guides.push(guide::ActiveModel {
            id: Set(id),
            code: Set(format!("g{i:05}")),
            department_id: Set(depts[rng.next(depts.len())]),
            category_id: Set(Some(cats[rng.next(cats.len())])),
            process_id: Set(None),
            name: Set(name.clone()),
            name_en: Set(None),
            summary: Set(format!("{name}：{}", SENTENCES[rng.next(SENTENCES.len())])),
            keywords: Set(format!("{} {}", OBJECTS[rng.next(OBJECTS.len())], ACTIONS[rng.next(ACTIONS.len())])),
            audiences: Set(json!([audiences[rng.next(4)]])),
            channels: Set(json!([])),
            status: Set("published".into()),
            published_version: Set(Some(1)),
            latest_version: Set(1),
            recommended: Set(false),
            recommend_rank: Set(0),
            protected: Set(false),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
            published_at: Set(Some(now)),
        });
        versions.push(guide_version::ActiveModel {
            id: Set(Uuid::now_v7()),
            guide_id: Set(id),
            number: Set(1),
            status: Set("published".into()),
            content: Set(json!({
                "name": name,
                "conditions": body[..4].concat(),
                "materials": [{ "name": "申请表", "required": true }, { "name": "身份证复印件", "required": false }],
                "offline_steps": body[4..].iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            })),
            created_by: Set(author),
            created_at: Set(now),
            published_by: Set(Some(author)),
            published_at: Set(Some(now)),
        });
    }
    for chunk in guides.chunks(500) {
        guide::Entity::insert_many(chunk.to_vec()).exec(db.conn()).await.expect("guides");
    }
    for chunk in versions.chunks(500) {
        guide_version::Entity::insert_many(chunk.to_vec()).exec(db.conn()).await.expect("versions");
    }
}

const QUERIES: &[&str] = &[
    "zdzm",
    "zaiduzhengming",
    "zaidu",
    "zd",
    "在读证明",
    "证明",
    "学生校园卡补办",
    "xyk",
    "毕业生 档案",
    "zaidu证明",
    "怎么报销差旅费",
    "宿舍报修",
    "不存在的事项",
    "gongzhang",
];

fn setup() -> SearchIndex {
    let dir = std::env::temp_dir().join(format!("tongban-bench-{}", Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let index = rt.block_on(async {
        let db = Db::connect(&format!("sqlite://{}?mode=rwc", dir.join("bench.db").display()), 2).await.expect("db");
        db.migrate().await.expect("migrate");
        seed(&db).await;
        let index = SearchIndex::new().expect("index");
        let t = Instant::now();
        index.rebuild(&db).await.expect("rebuild");
        eprintln!("rebuild of {} guides: {:?}", index.len(), t.elapsed());
        db.close().await.expect("close");
        index
    });
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(index.len(), GUIDES);

    // Latency distribution over every query, as a client mix would send them.
    let mut samples = Vec::with_capacity(20_000);
    for i in 0..20_000 {
        let q = GuideQuery { q: QUERIES[i % QUERIES.len()].to_owned(), limit: 20, ..GuideQuery::default() };
        let t = Instant::now();
        black_box(index.search_guides_detailed(&q).expect("search"));
        samples.push(t.elapsed());
    }
    samples.sort();
    let pct = |p: f64| samples[((samples.len() as f64 * p) as usize).min(samples.len() - 1)];
    eprintln!(
        "search over {GUIDES} guides (with highlights): p50 {:?}, p99 {:?}, max {:?}",
        pct(0.50),
        pct(0.99),
        samples[samples.len() - 1]
    );
    index
}

fn bench(c: &mut Criterion) {
    let index = setup();
    let mut g = c.benchmark_group("guide_search_5000");
    g.measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    for q in ["zdzm", "zd", "在读证明", "证明", "毕业生 档案", "zaidu证明", "怎么报销差旅费"] {
        let query = GuideQuery { q: q.to_owned(), limit: 20, ..GuideQuery::default() };
        g.bench_function(q, |b| b.iter(|| black_box(index.search_guides_detailed(&query).expect("search"))));
    }
    let filtered =
        GuideQuery { q: "证明".into(), audience: Some("student".into()), limit: 20, ..GuideQuery::default() };
    g.bench_function("证明 audience=student", |b| {
        b.iter(|| black_box(index.search_guides_detailed(&filtered).expect("search")))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
