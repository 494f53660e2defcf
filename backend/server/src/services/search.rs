//! Full-text search over published guides: tantivy with jieba word segmentation and pinyin (full
//! spelling and initials), ranked, filtered by category, department and audience; and `GET
//! /search`, which adds the caller's own affairs.
//!
//! The index lives in memory and is rebuilt from the database at start. It is kept in step by
//! [`SearchIndex::refresh_guide`] (called by the guides service after each commit on this instance)
//! and by [`spawn_sync`], a background task that picks up guides changed by other instances on the
//! same database (every 5 s by `updated_at`, with an overlap for clock skew) and reconciles the
//! whole index with the database every minute (deleted guides, renamed departments and categories).
//!
//! User text never reaches tantivy's query syntax: queries are built from tokens. The query is
//! split into runs of Chinese (segmented by jieba) and of ASCII letters and digits (searched as
//! pinyin — full spelling, initials, prefixes of either, from any syllable — and as words). Every
//! word must match somewhere (name, keywords, category, department, summary, body, or as a
//! substring of the name through character bigrams); fields are boosted so that an exact name
//! beats a name match, which beats a body match.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, LazyLock, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use pinyin::{ToPinyin, ToPinyinMulti};
use sea_orm::sea_query::{Expr, Func, LikeExpr};
use sea_orm::{ColumnTrait, Condition, EntityTrait, ExprTrait, QueryFilter, QueryOrder, QuerySelect};
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{BooleanQuery, BoostQuery, ConstScoreQuery, FuzzyTermQuery, Occur, PhraseQuery, Query, TermQuery};
use tantivy::schema::{
    FAST, Field, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions, Value as _,
};
use tantivy::snippet::SnippetGenerator;
use tantivy::tokenizer::{Token, TokenStream, Tokenizer};
use tantivy::{
    DocId, Index, IndexReader, IndexWriter, ReloadPolicy, Score, Searcher, SegmentReader, TantivyDocument, Term,
};
use tantivy_jieba::jieba_rs::Jieba;
use uuid::Uuid;

use super::like_pattern;
use crate::db::Db;
use crate::dto::common::{Page, PageQuery};
use crate::dto::search::{AffairHit, GuideHit, SearchQuery, SearchResult};
use crate::entity::{affair, category, department, guide, guide_version};
use crate::error::{AppError, AppResult};
use crate::policy::Principal;
use crate::state::AppState;

/// The longest query, in characters.
pub const MAX_QUERY_CHARS: usize = 100;
/// Guide status of the guides that are searchable.
const PUBLISHED: &str = "published";
/// Indexed text of a guide's published content, at most (bytes).
const MAX_BODY_BYTES: usize = 50_000;
/// Spelling variants of a name kept for polyphonic characters (行 xing/hang).
const MAX_PINYIN_VARIANTS: usize = 8;
/// How far back the background sync looks before its last run, for clock skew between instances
/// and transactions that committed late.
const SYNC_OVERLAP: chrono::TimeDelta = chrono::TimeDelta::seconds(30);
/// Background sync period, and how many periods between full reconciliations.
const SYNC_PERIOD: Duration = Duration::from_secs(5);
const RECONCILE_EVERY: u64 = 12;
/// The audience term of guides for everyone (no audience given).
const EVERYONE: &str = "*";
/// Own affairs listed with a search, at most.
const MAX_AFFAIRS: u64 = 10;

/// Words of college services that jieba's general dictionary splits or misses.
const COLLEGE_WORDS: &[&str] = &[
    "在读证明",
    "在校证明",
    "学籍证明",
    "成绩单",
    "成绩证明",
    "校园卡",
    "一卡通",
    "辅导员",
    "请假",
    "销假",
    "休学",
    "复学",
    "退学",
    "转专业",
    "奖学金",
    "助学金",
    "助学贷款",
    "勤工助学",
    "报销",
    "用印",
    "公章",
    "调宿",
    "宿舍",
    "学位证",
    "毕业证",
    "补办",
    "因公出国",
    "场地借用",
    "教室借用",
    "网络账号",
    "校友卡",
    "访客",
];

/// Query words that carry no meaning of their own ("在读证明怎么办理"): they rank but are not
/// required, unless the query has nothing else.
const STOP_WORDS: &[&str] = &[
    "的", "了", "和", "与", "及", "或", "吗", "呢", "啊", "怎么", "如何", "怎样", "哪里", "什么", "办理", "申请",
    "手续", "流程", "我", "要",
];

static JIEBA: LazyLock<Jieba> = LazyLock::new(|| {
    let mut j = Jieba::new();
    for w in COLLEGE_WORDS {
        j.add_word(w, None, None);
    }
    j
});

/// A guide search.
#[derive(Debug, Clone, Default)]
pub struct GuideQuery {
    /// The user's words: Chinese, pinyin or initials (`zdzm`).
    pub q: String,
    /// Only this category.
    pub category_id: Option<Uuid>,
    /// Only this department (实施主体).
    pub department_id: Option<Uuid>,
    /// Only guides for this audience (`student`, `staff`, `alumni`, `visitor`).
    pub audience: Option<String>,
    /// Skip this many hits.
    pub offset: usize,
    /// Return at most this many hits.
    pub limit: usize,
}

/// Ranked hits and how many matched in all.
#[derive(Debug, Clone, Default)]
pub struct GuideHits {
    /// Matching guides in all.
    pub total: usize,
    /// Guide ids with their scores, best first.
    pub hits: Vec<(Uuid, f32)>,
}

/// One hit with what the index stores about the guide.
#[derive(Debug, Clone)]
pub struct GuideHitDoc {
    /// Guide id.
    pub id: Uuid,
    /// Score (higher is better).
    pub score: f32,
    /// 事项名称.
    pub name: String,
    /// Summary.
    pub summary: String,
    /// 实施主体.
    pub department_id: Uuid,
    /// Its name.
    pub department_name: String,
    /// Category.
    pub category_id: Option<Uuid>,
    /// Its name.
    pub category_name: Option<String>,
    /// A fragment of the summary or the guide's content with the matched words in `<b>…</b>`;
    /// the text is HTML-escaped.
    pub highlight: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Text analysis
// ---------------------------------------------------------------------------------------------

/// Full-width ASCII forms (ｚｄｚｍ, ２０２６) as ASCII, lower-cased.
fn fold_char(c: char) -> char {
    let c = match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        '\u{3000}' => ' ',
        _ => c,
    };
    c.to_ascii_lowercase()
}

fn fold(s: &str) -> String {
    s.chars().flat_map(|c| fold_char(c).to_lowercase()).collect()
}

/// A name reduced for exact comparison: folded, letters and digits only.
fn compact(s: &str) -> String {
    fold(s).chars().filter(|c| c.is_alphanumeric()).collect()
}

/// Tokens handed back one by one.
struct VecTokenStream {
    tokens: std::vec::IntoIter<Token>,
    current: Token,
}

impl VecTokenStream {
    fn new(tokens: Vec<Token>) -> Self {
        VecTokenStream { tokens: tokens.into_iter(), current: Token::default() }
    }
}

impl TokenStream for VecTokenStream {
    fn advance(&mut self) -> bool {
        match self.tokens.next() {
            Some(t) => {
                self.current = t;
                true
            }
            None => false,
        }
    }

    fn token(&self) -> &Token {
        &self.current
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.current
    }
}

/// jieba in search mode (words and the dictionary words inside them: 在读证明 → 在读, 证明,
/// 在读证明), folded; punctuation, spaces and symbols dropped.
#[derive(Clone, Default)]
struct CnTokenizer;

fn cn_tokens(text: &str) -> Vec<Token> {
    let mut out = Vec::new();
    for (position, t) in
        JIEBA.cut_for_search(text, true).into_iter().filter(|t| t.word.chars().any(char::is_alphanumeric)).enumerate()
    {
        out.push(Token {
            offset_from: t.byte_start,
            offset_to: t.byte_end,
            position,
            text: fold(t.word),
            position_length: 1,
        });
    }
    out
}

impl Tokenizer for CnTokenizer {
    type TokenStream<'a> = VecTokenStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> VecTokenStream {
        VecTokenStream::new(cn_tokens(text))
    }
}

/// Character unigrams and bigrams of Chinese text (at the position of their first character) and
/// whole ASCII words, so that any substring of a name can be found as a phrase of bigrams even
/// where jieba cut the name differently from the query.
#[derive(Clone, Default)]
struct GramTokenizer;

fn gram_tokens(text: &str) -> Vec<Token> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let end_of = |i: usize| chars.get(i + 1).map_or(text.len(), |c| c.0);
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let (start, c) = chars[i];
        if fold_char(c).is_ascii_alphanumeric() {
            let mut j = i;
            while j + 1 < chars.len() && fold_char(chars[j + 1].1).is_ascii_alphanumeric() {
                j += 1;
            }
            out.push(Token {
                offset_from: start,
                offset_to: end_of(j),
                position: i,
                text: fold(&text[start..end_of(j)]),
                position_length: 1,
            });
            i = j + 1;
        } else if c.is_alphanumeric() {
            out.push(Token {
                offset_from: start,
                offset_to: end_of(i),
                position: i,
                text: fold(&c.to_string()),
                position_length: 1,
            });
            if let Some(&(_, n)) = chars.get(i + 1)
                && n.is_alphanumeric()
                && !fold_char(n).is_ascii_alphanumeric()
            {
                out.push(Token {
                    offset_from: start,
                    offset_to: end_of(i + 1),
                    position: i,
                    text: fold(&text[start..end_of(i + 1)]),
                    position_length: 1,
                });
            }
            i += 1;
        } else {
            i += 1;
        }
    }
    out
}

impl Tokenizer for GramTokenizer {
    type TokenStream<'a> = VecTokenStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> VecTokenStream {
        VecTokenStream::new(gram_tokens(text))
    }
}

/// One syllable of a spelling, or a word of letters and digits kept whole (`vpn`, `2026`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Syllable {
    text: String,
    word: bool,
}

/// The spellings of a name: one list of syllables per variant; polyphonic characters give
/// several variants, at most [`MAX_PINYIN_VARIANTS`].
fn pinyin_variants(name: &str) -> Vec<Vec<Syllable>> {
    // Each piece of the name with its possible spellings, most common first.
    let mut pieces: Vec<Vec<Syllable>> = Vec::new();
    let mut ascii = String::new();
    for c in name.chars().map(fold_char) {
        if c.is_ascii_alphanumeric() {
            ascii.push(c);
            continue;
        }
        if !ascii.is_empty() {
            pieces.push(vec![Syllable { text: std::mem::take(&mut ascii), word: true }]);
        }
        let Some(main) = c.to_pinyin() else { continue };
        // ü is typed as v (绿 lv), as with every pinyin input method.
        let plain = |p: pinyin::Pinyin| p.plain().replace('ü', "v");
        let mut options = vec![Syllable { text: plain(main), word: false }];
        if let Some(multi) = c.to_pinyin_multi() {
            for p in multi {
                if options.len() >= 2 {
                    break;
                }
                if !options.iter().any(|o| o.text == plain(p)) {
                    options.push(Syllable { text: plain(p), word: false });
                }
            }
        }
        pieces.push(options);
    }
    if !ascii.is_empty() {
        pieces.push(vec![Syllable { text: ascii, word: true }]);
    }
    let mut variants: Vec<Vec<Syllable>> = vec![Vec::new()];
    for options in pieces {
        if variants.len() * options.len() <= MAX_PINYIN_VARIANTS {
            variants = variants
                .into_iter()
                .flat_map(|v| {
                    options.iter().map(move |o| {
                        let mut v = v.clone();
                        v.push(o.clone());
                        v
                    })
                })
                .collect();
        } else {
            for v in &mut variants {
                v.push(options[0].clone());
            }
        }
    }
    variants.retain(|v| !v.is_empty());
    variants
}

fn spelling(syllables: &[Syllable]) -> String {
    syllables.iter().map(|s| s.text.as_str()).collect()
}

/// First letters of the syllables; words are kept whole (`VPN账号` → `vpnzh`).
fn initials(syllables: &[Syllable]) -> String {
    syllables.iter().map(|s| if s.word { s.text.as_str() } else { s.text.get(..1).unwrap_or_default() }).collect()
}

/// Terms of a name's spelling: (whole spellings and initials, those from a later syllable on,
/// single syllables).
fn pinyin_terms(name: &str) -> (BTreeSet<String>, BTreeSet<String>, BTreeSet<String>) {
    let (mut start, mut inner, mut syllables) = (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    for v in pinyin_variants(name) {
        start.insert(spelling(&v));
        start.insert(initials(&v));
        for i in 1..v.len() {
            inner.insert(spelling(&v[i..]));
            let ini = initials(&v[i..]);
            if ini.len() >= 2 {
                inner.insert(ini);
            }
        }
        syllables.extend(v.into_iter().map(|s| s.text));
    }
    (start, inner, syllables)
}

/// What kind of text a query word is.
#[derive(Debug, Clone, PartialEq, Eq)]
enum UnitKind {
    /// Letters and digits: pinyin, initials, English words, numbers.
    Ascii,
    /// Chinese (or other non-ASCII letters): a jieba word, with the dictionary words inside it.
    Cjk(Vec<String>),
}

/// One word of a query.
#[derive(Debug, Clone)]
struct Unit {
    text: String,
    kind: UnitKind,
    stop: bool,
}

/// Split a query into words: runs of ASCII letters and digits, and jieba's words of the other
/// runs. Everything else (spaces, punctuation, symbols, emoji, control characters) separates.
fn parse_units(q: &str) -> Vec<Unit> {
    let folded: String = q.chars().map(fold_char).collect();
    let mut units = Vec::new();
    let mut run = String::new();
    let mut run_ascii = false;
    let flush = |run: &mut String, ascii: bool, units: &mut Vec<Unit>| {
        if run.is_empty() {
            return;
        }
        if ascii {
            units.push(Unit { text: run.clone(), kind: UnitKind::Ascii, stop: false });
        } else {
            for t in JIEBA.cut(run, true) {
                let w = fold(t.word);
                if !w.chars().any(char::is_alphanumeric) {
                    continue;
                }
                let subs: Vec<String> = JIEBA
                    .cut_for_search(t.word, true)
                    .into_iter()
                    .map(|s| fold(s.word))
                    .filter(|s| *s != w && s.chars().any(char::is_alphanumeric))
                    .collect();
                let stop = STOP_WORDS.contains(&w.as_str());
                units.push(Unit { text: w, kind: UnitKind::Cjk(subs), stop });
            }
        }
        run.clear();
    };
    for c in folded.chars() {
        let ascii = c.is_ascii_alphanumeric();
        if !c.is_alphanumeric() {
            flush(&mut run, run_ascii, &mut units);
            continue;
        }
        if !run.is_empty() && ascii != run_ascii {
            flush(&mut run, run_ascii, &mut units);
        }
        run_ascii = ascii;
        run.push(c);
    }
    flush(&mut run, run_ascii, &mut units);
    // Repeated words add nothing.
    let mut seen = HashSet::new();
    units.retain(|u| seen.insert(u.text.clone()));
    units
}

// ---------------------------------------------------------------------------------------------
// The index
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy)]
struct Fields {
    id: Field,
    name: Field,
    name_exact: Field,
    name_gram: Field,
    py_start: Field,
    py_inner: Field,
    py_syllable: Field,
    keywords: Field,
    summary: Field,
    body: Field,
    department_id: Field,
    department_name: Field,
    category_id: Field,
    category_name: Field,
    audience: Field,
    name_len: Field,
}

impl Fields {
    /// Word fields and their boosts.
    fn words(&self) -> [(Field, f32); 6] {
        [
            (self.name, 5.0),
            (self.keywords, 3.0),
            (self.category_name, 2.0),
            (self.department_name, 2.0),
            (self.summary, 1.5),
            (self.body, 1.0),
        ]
    }
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let cn = |stored: bool| {
        let o = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default().set_tokenizer("tb_cn").set_index_option(IndexRecordOption::WithFreqs),
        );
        if stored { o.set_stored() } else { o }
    };
    let gram = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer("tb_gram")
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let f = Fields {
        id: b.add_text_field("id", STRING | STORED),
        name: b.add_text_field("name", cn(true)),
        name_exact: b.add_text_field("name_exact", STRING),
        name_gram: b.add_text_field("name_gram", gram),
        py_start: b.add_text_field("py_start", STRING),
        py_inner: b.add_text_field("py_inner", STRING),
        py_syllable: b.add_text_field("py_syllable", STRING),
        keywords: b.add_text_field("keywords", cn(false)),
        summary: b.add_text_field("summary", cn(true)),
        body: b.add_text_field("body", cn(true)),
        department_id: b.add_text_field("department_id", STRING | STORED),
        department_name: b.add_text_field("department_name", cn(true)),
        category_id: b.add_text_field("category_id", STRING | STORED),
        category_name: b.add_text_field("category_name", cn(true)),
        audience: b.add_text_field("audience", STRING),
        name_len: b.add_u64_field("name_len", FAST),
    };
    (b.build(), f)
}

/// What one published guide contributes to the index.
#[derive(Debug, Clone, Default)]
struct GuideDoc {
    id: Uuid,
    name: String,
    name_en: Option<String>,
    summary: String,
    keywords: String,
    audiences: Vec<String>,
    department_id: Uuid,
    department_name: String,
    category_id: Option<Uuid>,
    category_name: Option<String>,
    body: String,
    updated_at: DateTime<Utc>,
}

impl GuideDoc {
    fn to_document(&self, f: &Fields) -> TantivyDocument {
        let mut d = TantivyDocument::default();
        d.add_text(f.id, self.id.to_string());
        d.add_text(f.name, &self.name);
        d.add_text(f.name_exact, compact(&self.name));
        d.add_text(f.name_gram, &self.name);
        d.add_u64(f.name_len, self.name.chars().count() as u64);
        let (start, inner, syllables) = pinyin_terms(&self.name);
        for t in start {
            d.add_text(f.py_start, t);
        }
        for t in inner {
            d.add_text(f.py_inner, t);
        }
        for t in syllables {
            d.add_text(f.py_syllable, t);
        }
        d.add_text(f.keywords, &self.keywords);
        if let Some(en) = &self.name_en {
            d.add_text(f.keywords, en);
        }
        d.add_text(f.summary, &self.summary);
        d.add_text(f.body, &self.body);
        d.add_text(f.department_id, self.department_id.to_string());
        d.add_text(f.department_name, &self.department_name);
        if let Some(c) = self.category_id {
            d.add_text(f.category_id, c.to_string());
        }
        if let Some(c) = &self.category_name {
            d.add_text(f.category_name, c);
        }
        // No audience means everyone.
        if self.audiences.is_empty() {
            d.add_text(f.audience, EVERYONE);
        }
        for a in &self.audiences {
            d.add_text(f.audience, fold(a));
        }
        d
    }
}

/// What the index holds for a guide, to skip unchanged rows and notice renamed departments.
#[derive(Debug, Clone)]
struct Indexed {
    updated_at: DateTime<Utc>,
    present: bool,
    department_id: Uuid,
    department_name: String,
    category_id: Option<Uuid>,
    category_name: Option<String>,
}

/// What the index was last brought up to date with.
#[derive(Default)]
struct Seen {
    /// Every guide the index has seen (present or removed), by id.
    guides: HashMap<Uuid, Indexed>,
    /// When the background sync last read changed rows (this instance's clock).
    watermark: Option<DateTime<Utc>>,
}

struct Inner {
    reader: IndexReader,
    f: Fields,
    writer: Mutex<IndexWriter<TantivyDocument>>,
    seen: Mutex<Seen>,
}

/// The in-memory index shared by all requests (in `AppState.search`).
#[derive(Clone)]
pub struct SearchIndex {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchIndex").field("docs", &self.inner.reader.searcher().num_docs()).finish()
    }
}

fn internal(e: impl std::fmt::Display) -> AppError {
    AppError::Internal(anyhow::anyhow!("search index: {e}"))
}

/// A change to apply to the index.
#[derive(Default)]
struct Changes {
    /// Replace everything.
    clear: bool,
    upserts: Vec<GuideDoc>,
    /// Guides no longer searchable, with the `updated_at` of the row that said so (`None`:
    /// the row is gone).
    removes: Vec<(Uuid, Option<DateTime<Utc>>)>,
}

impl SearchIndex {
    /// An empty index (call [`rebuild`](Self::rebuild) to load it).
    pub fn new() -> AppResult<SearchIndex> {
        let (schema, f) = schema();
        let index = Index::create_in_ram(schema);
        index.tokenizers().register("tb_cn", CnTokenizer);
        index.tokenizers().register("tb_gram", GramTokenizer);
        let writer = index.writer_with_num_threads(1, 32_000_000).map_err(internal)?;
        let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into().map_err(internal)?;
        Ok(SearchIndex {
            inner: Arc::new(Inner { reader, f, writer: Mutex::new(writer), seen: Mutex::new(Seen::default()) }),
        })
    }

    /// Load every published guide from the database (at start).
    pub async fn rebuild(&self, db: &Db) -> AppResult<()> {
        let started = crate::time::now();
        let docs = load_docs(db, None).await?;
        self.apply(Changes { clear: true, upserts: docs, removes: Vec::new() }).await?;
        self.inner.seen().watermark = Some(started);
        Ok(())
    }

    /// Bring one guide up to date after it changed (published, edited, taken offline, deleted);
    /// guides that are not published are removed from the index.
    pub async fn refresh_guide(&self, db: &Db, guide_id: Uuid) -> AppResult<()> {
        self.refresh_many(db, &[guide_id]).await
    }

    /// Bring these guides up to date.
    pub async fn refresh_many(&self, db: &Db, ids: &[Uuid]) -> AppResult<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut changes = Changes::default();
        for chunk in ids.chunks(500) {
            let rows = guide::Entity::find()
                .select_only()
                .column(guide::Column::Id)
                .column(guide::Column::Status)
                .column(guide::Column::UpdatedAt)
                .filter(guide::Column::Id.is_in(chunk.iter().copied()))
                .into_tuple::<(Uuid, String, DateTime<Utc>)>()
                .all(db.conn())
                .await?;
            let found: HashMap<Uuid, (String, DateTime<Utc>)> =
                rows.into_iter().map(|(id, status, at)| (id, (status, at))).collect();
            for id in chunk {
                match found.get(id) {
                    None => changes.removes.push((*id, None)),
                    Some((status, at)) if status != PUBLISHED => changes.removes.push((*id, Some(*at))),
                    Some(_) => {}
                }
            }
            let published: Vec<Uuid> = found.iter().filter(|(_, (s, _))| s == PUBLISHED).map(|(id, _)| *id).collect();
            if !published.is_empty() {
                changes.upserts.extend(load_docs(db, Some(&published)).await?);
            }
        }
        self.apply(changes).await
    }

    /// Pick up guides changed since the last run (by any instance); run by [`spawn_sync`] every
    /// few seconds.
    pub async fn sync_recent(&self, db: &Db) -> AppResult<()> {
        let Some(watermark) = self.inner.seen().watermark else {
            return Ok(());
        };
        let started = crate::time::now();
        let rows = guide::Entity::find()
            .select_only()
            .column(guide::Column::Id)
            .column(guide::Column::UpdatedAt)
            .filter(guide::Column::UpdatedAt.gt(watermark - SYNC_OVERLAP))
            .into_tuple::<(Uuid, DateTime<Utc>)>()
            .all(db.conn())
            .await?;
        let stale: Vec<Uuid> = {
            let s = self.inner.seen();
            rows.into_iter()
                .filter(|(id, at)| s.guides.get(id).is_none_or(|i| i.updated_at < *at))
                .map(|(id, _)| id)
                .collect()
        };
        self.refresh_many(db, &stale).await?;
        let mut s = self.inner.seen();
        s.watermark = Some(s.watermark.map_or(started, |w| Ord::max(w, started)));
        Ok(())
    }

    /// Compare the whole index with the database: guides deleted or changed without this
    /// instance noticing, departments and categories renamed; run by [`spawn_sync`] every minute.
    pub async fn reconcile(&self, db: &Db) -> AppResult<()> {
        let rows = guide::Entity::find()
            .select_only()
            .column(guide::Column::Id)
            .column(guide::Column::UpdatedAt)
            .filter(guide::Column::Status.eq(PUBLISHED))
            .into_tuple::<(Uuid, DateTime<Utc>)>()
            .all(db.conn())
            .await?;
        let departments: HashMap<Uuid, String> = department::Entity::find()
            .select_only()
            .column(department::Column::Id)
            .column(department::Column::Name)
            .into_tuple::<(Uuid, String)>()
            .all(db.conn())
            .await?
            .into_iter()
            .collect();
        let categories: HashMap<Uuid, String> = category::Entity::find()
            .select_only()
            .column(category::Column::Id)
            .column(category::Column::Name)
            .into_tuple::<(Uuid, String)>()
            .all(db.conn())
            .await?
            .into_iter()
            .collect();
        let published: HashMap<Uuid, DateTime<Utc>> = rows.into_iter().collect();
        let stale: Vec<Uuid> = {
            let s = self.inner.seen();
            let mut stale: Vec<Uuid> =
                s.guides.iter().filter(|(id, i)| i.present && !published.contains_key(id)).map(|(id, _)| *id).collect();
            for (id, at) in &published {
                let fresh = s.guides.get(id).is_some_and(|i| {
                    i.present
                        && i.updated_at >= *at
                        && departments.get(&i.department_id) == Some(&i.department_name)
                        && i.category_id.map(|c| categories.get(&c)) == i.category_name.as_ref().map(Some)
                });
                if !fresh {
                    stale.push(*id);
                }
            }
            stale
        };
        if !stale.is_empty() {
            tracing::info!(guides = stale.len(), "search index: reconciling");
            // Renames do not touch `updated_at`: forget what was seen so the rows are re-read.
            {
                let mut s = self.inner.seen();
                for id in &stale {
                    if let Some(i) = s.guides.get_mut(id) {
                        i.updated_at = DateTime::<Utc>::MIN_UTC;
                    }
                }
            }
            self.refresh_many(db, &stale).await?;
        }
        Ok(())
    }

    /// Write changes, commit and make them visible to searches.
    async fn apply(&self, changes: Changes) -> AppResult<()> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || inner.apply(changes)).await.map_err(internal)?
    }

    /// Search published guides.
    pub fn search_guides(&self, q: &GuideQuery) -> AppResult<GuideHits> {
        let (total, hits) = self.inner.run(q, false)?;
        Ok(GuideHits { total, hits: hits.into_iter().map(|h| (h.id, h.score)).collect() })
    }

    /// Search published guides, returning what the index stores about each hit and a highlight.
    pub fn search_guides_detailed(&self, q: &GuideQuery) -> AppResult<(usize, Vec<GuideHitDoc>)> {
        self.inner.run(q, true)
    }

    /// How many guides are searchable.
    pub fn len(&self) -> usize {
        usize::try_from(self.inner.reader.searcher().num_docs()).unwrap_or(usize::MAX)
    }

    /// Whether no guide is searchable.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Inner {
    fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.seen.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Apply changes. The writer lock serialises writers for the whole change; the record of what
    /// was seen is locked only briefly, so the sync task never waits for a commit.
    fn apply(&self, changes: Changes) -> AppResult<()> {
        let f = self.f;
        let mut writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        // Decide what to write, skipping rows older than what a concurrent refresh already wrote.
        let mut deletes: Vec<Uuid> = Vec::new();
        let mut adds: Vec<GuideDoc> = Vec::new();
        {
            let mut seen = self.seen();
            if changes.clear {
                seen.guides.clear();
            }
            for (id, at) in changes.removes {
                match at {
                    Some(at) if seen.guides.get(&id).is_some_and(|i| i.updated_at > at) => {}
                    Some(at) => {
                        deletes.push(id);
                        let e = seen.guides.entry(id).or_insert_with(|| Indexed {
                            updated_at: at,
                            present: false,
                            department_id: Uuid::nil(),
                            department_name: String::new(),
                            category_id: None,
                            category_name: None,
                        });
                        e.updated_at = at;
                        e.present = false;
                    }
                    None => {
                        deletes.push(id);
                        seen.guides.remove(&id);
                    }
                }
            }
            for d in changes.upserts {
                if seen.guides.get(&d.id).is_some_and(|i| i.updated_at > d.updated_at) {
                    continue;
                }
                seen.guides.insert(
                    d.id,
                    Indexed {
                        updated_at: d.updated_at,
                        present: true,
                        department_id: d.department_id,
                        department_name: d.department_name.clone(),
                        category_id: d.category_id,
                        category_name: d.category_name.clone(),
                    },
                );
                adds.push(d);
            }
        }
        let touched: Vec<Uuid> = deletes.iter().copied().chain(adds.iter().map(|d| d.id)).collect();
        let res = (|| -> tantivy::Result<()> {
            if changes.clear {
                writer.delete_all_documents()?;
            }
            for id in &deletes {
                writer.delete_term(Term::from_field_text(f.id, &id.to_string()));
            }
            for d in &adds {
                writer.delete_term(Term::from_field_text(f.id, &d.id.to_string()));
                writer.add_document(d.to_document(&f))?;
            }
            writer.commit()?;
            Ok(())
        })();
        if let Err(e) = res {
            // Nothing half-written stays queued, and the guides are re-read by the next sync.
            let _ = writer.rollback();
            let mut seen = self.seen();
            for id in touched {
                if let Some(i) = seen.guides.get_mut(&id) {
                    i.updated_at = DateTime::<Utc>::MIN_UTC;
                    i.present = true;
                }
            }
            return Err(internal(e));
        }
        self.reader.reload().map_err(internal)?;
        Ok(())
    }

    fn run(&self, q: &GuideQuery, detailed: bool) -> AppResult<(usize, Vec<GuideHitDoc>)> {
        check_query(&q.q)?;
        let Some(query) = build_query(&self.f, q) else {
            return Ok((0, Vec::new()));
        };
        let searcher = self.reader.searcher();
        let n = usize::try_from(searcher.num_docs()).unwrap_or(usize::MAX);
        // The collector allocates for offset + limit: never more than the index holds.
        let (top, total) = if q.limit == 0 || q.offset >= n {
            (Vec::new(), searcher.search(&query, &Count).map_err(internal)?)
        } else {
            // Of equally good matches (a pinyin prefix scores the same for every name it starts),
            // the shorter name is the more specific one: 在读证明 before 在读证明开具.
            let top =
                TopDocs::with_limit(q.limit.min(n)).and_offset(q.offset).tweak_score(|segment: &SegmentReader| {
                    let lens = segment.fast_fields().u64("name_len").ok().map(|c| c.first_or_default_col(0));
                    move |doc: DocId, score: Score| {
                        let len = lens.as_ref().map_or(0, |c| c.get_val(doc));
                        score * (1.0 + 0.5 / (1.0 + len as Score))
                    }
                });
            searcher.search(&query, &(top, Count)).map_err(internal)?
        };
        let highlighters = if detailed && !top.is_empty() {
            Some((
                self.highlighter(&searcher, &*query, self.f.summary)?,
                self.highlighter(&searcher, &*query, self.f.body)?,
            ))
        } else {
            None
        };
        let mut hits = Vec::with_capacity(top.len());
        for (score, addr) in top {
            let doc: TantivyDocument = searcher.doc(addr).map_err(internal)?;
            let text = |field: Field| doc.get_first(field).and_then(|v| v.as_str()).unwrap_or_default().to_owned();
            let id = |field: Field| doc.get_first(field).and_then(|v| v.as_str()).and_then(|s| Uuid::parse_str(s).ok());
            let Some(guide_id) = id(self.f.id) else { continue };
            let mut hit = GuideHitDoc {
                id: guide_id,
                score,
                name: String::new(),
                summary: String::new(),
                department_id: Uuid::nil(),
                department_name: String::new(),
                category_id: None,
                category_name: None,
                highlight: None,
            };
            if detailed {
                hit.name = text(self.f.name);
                hit.summary = text(self.f.summary);
                hit.department_id = id(self.f.department_id).unwrap_or_default();
                hit.department_name = text(self.f.department_name);
                hit.category_id = id(self.f.category_id);
                hit.category_name = doc.get_first(self.f.category_name).and_then(|v| v.as_str()).map(str::to_owned);
                if let Some((summary, body)) = &highlighters {
                    let s = summary.snippet_from_doc(&doc);
                    let s = if s.is_empty() { body.snippet_from_doc(&doc) } else { s };
                    // Content values are indexed one per line; a highlight reads as one line.
                    hit.highlight = (!s.is_empty()).then(|| s.to_html().replace(['\n', '\r'], " "));
                }
            }
            hits.push(hit);
        }
        Ok((total, hits))
    }

    fn highlighter(&self, searcher: &Searcher, query: &dyn Query, field: Field) -> AppResult<SnippetGenerator> {
        let mut g = SnippetGenerator::create(searcher, query, field).map_err(internal)?;
        g.set_max_num_chars(120);
        Ok(g)
    }
}

/// A query's text must have something in it and at most [`MAX_QUERY_CHARS`] characters.
fn check_query(q: &str) -> AppResult<()> {
    if q.trim().is_empty() {
        return Err(AppError::field("q", "required", "请输入要搜索的内容", "Enter something to search for"));
    }
    if q.chars().count() > MAX_QUERY_CHARS {
        return Err(AppError::field(
            "q",
            "length",
            format!("搜索内容不能超过 {MAX_QUERY_CHARS} 个字"),
            format!("At most {MAX_QUERY_CHARS} characters"),
        ));
    }
    Ok(())
}

fn boxed(q: impl Query) -> Box<dyn Query> {
    Box::new(q)
}

fn boost(q: Box<dyn Query>, by: f32) -> Box<dyn Query> {
    boxed(BoostQuery::new(q, by))
}

fn term(field: Field, text: &str) -> Box<dyn Query> {
    boxed(TermQuery::new(Term::from_field_text(field, text), IndexRecordOption::WithFreqs))
}

fn prefix(field: Field, text: &str) -> Box<dyn Query> {
    boxed(FuzzyTermQuery::new_prefix(Term::from_field_text(field, text), 0, true))
}

fn any_of(clauses: Vec<Box<dyn Query>>) -> Box<dyn Query> {
    boxed(BooleanQuery::new(clauses.into_iter().map(|c| (Occur::Should, c)).collect()))
}

fn all_of(clauses: Vec<Box<dyn Query>>) -> Box<dyn Query> {
    boxed(BooleanQuery::new(clauses.into_iter().map(|c| (Occur::Must, c)).collect()))
}

/// A word as a substring of the name, through its character bigrams.
fn name_substring(f: &Fields, word: &str) -> Box<dyn Query> {
    let chars: Vec<char> = word.chars().collect();
    if chars.len() <= 2 {
        return term(f.name_gram, word);
    }
    let bigrams: Vec<Term> =
        chars.windows(2).map(|w| Term::from_field_text(f.name_gram, &w.iter().collect::<String>())).collect();
    boxed(PhraseQuery::new(bigrams))
}

/// A word in any of the word fields, boosted by field.
fn in_words(f: &Fields, word: &str) -> Vec<Box<dyn Query>> {
    f.words().into_iter().map(|(field, b)| boost(term(field, word), b)).collect()
}

fn unit_query(f: &Fields, u: &Unit) -> Box<dyn Query> {
    let mut clauses = in_words(f, &u.text);
    match &u.kind {
        UnitKind::Ascii => {
            clauses.push(boost(term(f.name_gram, &u.text), 3.0));
            clauses.push(boost(term(f.py_start, &u.text), 8.0));
            clauses.push(boost(prefix(f.py_start, &u.text), 5.0));
            clauses.push(boost(term(f.py_syllable, &u.text), 2.0));
            if u.text.len() >= 2 {
                clauses.push(boost(prefix(f.py_inner, &u.text), 2.0));
            }
        }
        UnitKind::Cjk(subs) => {
            clauses.push(boost(name_substring(f, &u.text), 3.0));
            if !subs.is_empty() {
                let parts = subs
                    .iter()
                    .map(|s| {
                        let mut c = in_words(f, s);
                        c.push(boost(name_substring(f, s), 3.0));
                        any_of(c)
                    })
                    .collect();
                clauses.push(boost(all_of(parts), 0.8));
            }
        }
    }
    any_of(clauses)
}

/// The query for a search, or `None` when the text has no words at all (only punctuation).
fn build_query(f: &Fields, q: &GuideQuery) -> Option<Box<dyn Query>> {
    let units = parse_units(&q.q);
    if units.is_empty() {
        return None;
    }
    let only_stop = units.iter().all(|u| u.stop);
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = units
        .iter()
        .map(|u| (if u.stop && !only_stop { Occur::Should } else { Occur::Must }, unit_query(f, u)))
        .collect();
    let exact = compact(&q.q);
    if !exact.is_empty() {
        clauses.push((Occur::Should, boost(term(f.name_exact, &exact), 10.0)));
    }
    let mut filter = |field: Field, value: String| {
        clauses.push((Occur::Must, boxed(ConstScoreQuery::new(term(field, &value), 0.0))));
    };
    if let Some(c) = q.category_id {
        filter(f.category_id, c.to_string());
    }
    if let Some(d) = q.department_id {
        filter(f.department_id, d.to_string());
    }
    if let Some(a) = &q.audience {
        let either = any_of(vec![term(f.audience, &fold(a)), term(f.audience, EVERYONE)]);
        clauses.push((Occur::Must, boxed(ConstScoreQuery::new(either, 0.0))));
    }
    Some(boxed(BooleanQuery::new(clauses)))
}

// ---------------------------------------------------------------------------------------------
// Loading from the database
// ---------------------------------------------------------------------------------------------

fn is_id_key(k: &str) -> bool {
    matches!(
        k,
        "id" | "key" | "url" | "sha256" | "storage_key" | "content_type" | "icon" | "audiences" | "channels" | "form"
    ) || k.ends_with("_id")
        || k.ends_with("_ids")
        || k.ends_with("_key")
        || k.ends_with("_url")
}

/// Every string of a guide's content worth searching, whatever its shape.
fn collect_text(v: &serde_json::Value, key: Option<&str>, out: &mut String) {
    if out.len() >= MAX_BODY_BYTES {
        return;
    }
    match v {
        serde_json::Value::String(s) => {
            if key.is_some_and(is_id_key) || Uuid::parse_str(s).is_ok() || !s.chars().any(char::is_alphanumeric) {
                return;
            }
            let mut end = s.len().min(MAX_BODY_BYTES - out.len());
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            out.push_str(&s[..end]);
            out.push('\n');
        }
        serde_json::Value::Array(items) => {
            for x in items {
                collect_text(x, key, out);
            }
        }
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                collect_text(x, Some(k), out);
            }
        }
        _ => {}
    }
}

fn strings(v: &serde_json::Value) -> Vec<String> {
    match v {
        serde_json::Value::Array(items) => items.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect(),
        serde_json::Value::String(s) => vec![s.clone()],
        _ => Vec::new(),
    }
}

/// The published guides (all, or these ids) as index documents.
async fn load_docs(db: &Db, ids: Option<&[Uuid]>) -> AppResult<Vec<GuideDoc>> {
    let mut find = guide::Entity::find().filter(guide::Column::Status.eq(PUBLISHED));
    if let Some(ids) = ids {
        find = find.filter(guide::Column::Id.is_in(ids.iter().copied()));
    }
    let guides = find.all(db.conn()).await?;
    if guides.is_empty() {
        return Ok(Vec::new());
    }
    let dept_ids: BTreeSet<Uuid> = guides.iter().map(|g| g.department_id).collect();
    let cat_ids: BTreeSet<Uuid> = guides.iter().filter_map(|g| g.category_id).collect();
    let mut departments: HashMap<Uuid, String> = HashMap::new();
    for chunk in dept_ids.into_iter().collect::<Vec<_>>().chunks(500) {
        let rows = department::Entity::find()
            .select_only()
            .column(department::Column::Id)
            .column(department::Column::Name)
            .filter(department::Column::Id.is_in(chunk.iter().copied()))
            .into_tuple::<(Uuid, String)>()
            .all(db.conn())
            .await?;
        departments.extend(rows);
    }
    let mut categories: HashMap<Uuid, String> = HashMap::new();
    for chunk in cat_ids.into_iter().collect::<Vec<_>>().chunks(500) {
        let rows = category::Entity::find()
            .select_only()
            .column(category::Column::Id)
            .column(category::Column::Name)
            .filter(category::Column::Id.is_in(chunk.iter().copied()))
            .into_tuple::<(Uuid, String)>()
            .all(db.conn())
            .await?;
        categories.extend(rows);
    }
    // The published content of each guide, by (guide, version number).
    let wanted: Vec<(Uuid, i32)> = guides.iter().filter_map(|g| g.published_version.map(|n| (g.id, n))).collect();
    let mut bodies: HashMap<Uuid, String> = HashMap::new();
    for chunk in wanted.chunks(200) {
        let mut cond = Condition::any();
        for (id, n) in chunk {
            cond = cond.add(guide_version::Column::GuideId.eq(*id).and(guide_version::Column::Number.eq(*n)));
        }
        let rows = guide_version::Entity::find()
            .select_only()
            .column(guide_version::Column::GuideId)
            .column(guide_version::Column::Content)
            .filter(cond)
            .into_tuple::<(Uuid, serde_json::Value)>()
            .all(db.conn())
            .await?;
        for (id, content) in rows {
            let mut body = String::new();
            collect_text(&content, None, &mut body);
            bodies.insert(id, body);
        }
    }
    Ok(guides
        .into_iter()
        .map(|g| GuideDoc {
            id: g.id,
            audiences: strings(&g.audiences),
            department_name: departments.get(&g.department_id).cloned().unwrap_or_default(),
            category_name: g.category_id.and_then(|c| categories.get(&c).cloned()),
            body: bodies.remove(&g.id).unwrap_or_default(),
            name: g.name,
            name_en: g.name_en,
            summary: g.summary,
            keywords: g.keywords,
            department_id: g.department_id,
            category_id: g.category_id,
            updated_at: g.updated_at,
        })
        .collect())
}

/// Keep the index in step with guides changed by other instances: a quick look at recently
/// changed rows every few seconds, a full reconciliation every minute.
pub fn spawn_sync(db: Db, index: Arc<SearchIndex>) {
    actix_web::rt::spawn(async move {
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + SYNC_PERIOD, SYNC_PERIOD);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut ticks: u64 = 0;
        loop {
            tick.tick().await;
            ticks += 1;
            let res = if ticks.is_multiple_of(RECONCILE_EVERY) {
                index.reconcile(&db).await
            } else {
                index.sync_recent(&db).await
            };
            if let Err(e) = res {
                tracing::warn!(error = ?e, "search index sync");
            }
        }
    });
}

// ---------------------------------------------------------------------------------------------
// GET /search
// ---------------------------------------------------------------------------------------------

/// Guides matching the query and, for a signed-in caller, their own affairs whose number or title
/// contains it (never anyone else's).
pub async fn search(
    st: &AppState,
    caller: Option<&Principal>,
    q: &SearchQuery,
    page: &PageQuery,
) -> AppResult<SearchResult> {
    let text = q.q.trim().to_owned();
    check_query(&text)?;
    let size = page.size();
    let gq = GuideQuery {
        q: text.clone(),
        category_id: q.category_id,
        department_id: q.department_id,
        audience: q.audience.map(|a| a.as_str().to_owned()),
        offset: usize::try_from((page.page() - 1).saturating_mul(size)).unwrap_or(usize::MAX),
        limit: usize::try_from(size).unwrap_or(100),
    };
    let index = st.search.clone();
    let (total, hits) =
        tokio::task::spawn_blocking(move || index.search_guides_detailed(&gq)).await.map_err(internal)??;
    let affairs = match caller {
        Some(p) => own_affairs(st, p, &text).await?,
        None => Vec::new(),
    };
    Ok(SearchResult {
        guides: Page {
            items: hits.into_iter().map(GuideHit::from).collect(),
            total: total as u64,
            page: page.page(),
            page_size: size,
        },
        affairs,
    })
}

async fn own_affairs(st: &AppState, p: &Principal, text: &str) -> AppResult<Vec<AffairHit>> {
    let pat = like_pattern(text);
    let rows = affair::Entity::find()
        .filter(affair::Column::ApplicantId.eq(p.user_id))
        .filter(
            Condition::any()
                .add(
                    Expr::expr(Func::upper(Expr::col(affair::Column::Number)))
                        .like(LikeExpr::new(pat.to_uppercase()).escape('\\')),
                )
                .add(Expr::col(affair::Column::Title).like(LikeExpr::new(&pat).escape('\\'))),
        )
        .order_by_desc(affair::Column::CreatedAt)
        .limit(MAX_AFFAIRS)
        .all(st.db.conn())
        .await?;
    Ok(rows.into_iter().map(AffairHit::from).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(name: &str) -> GuideDoc {
        GuideDoc {
            id: Uuid::now_v7(),
            name: name.to_owned(),
            department_id: Uuid::now_v7(),
            department_name: "教务处".to_owned(),
            audiences: vec!["student".to_owned()],
            updated_at: crate::time::now(),
            ..GuideDoc::default()
        }
    }

    fn index_of(docs: Vec<GuideDoc>) -> SearchIndex {
        let idx = SearchIndex::new().expect("index");
        idx.inner.apply(Changes { clear: true, upserts: docs, removes: Vec::new() }).expect("apply");
        idx
    }

    fn q(text: &str) -> GuideQuery {
        GuideQuery { q: text.to_owned(), limit: 20, ..GuideQuery::default() }
    }

    fn ids(idx: &SearchIndex, query: &GuideQuery) -> Vec<Uuid> {
        idx.search_guides(query).expect("search").hits.into_iter().map(|h| h.0).collect()
    }

    fn sample() -> (SearchIndex, GuideDoc, Vec<GuideDoc>) {
        let zd = GuideDoc {
            summary: "为在校学生开具在读证明，可用于签证、实习等".to_owned(),
            keywords: "在校证明,学籍".to_owned(),
            ..doc("在读证明")
        };
        let others = vec![
            // Longer names starting the same way rank below the exact one.
            doc("在读证明开具"),
            doc("成绩单打印"),
            doc("校园卡补办"),
            doc("学生请假"),
            doc("教职工因公出国审批"),
            doc("银行卡信息变更"),
            doc("VPN 账号申请"),
        ];
        let mut all = others.clone();
        all.insert(2, zd.clone());
        (index_of(all), zd, others)
    }

    #[test]
    fn segmentation_and_pinyin_find_zaidu_zhengming() {
        let (idx, zd, _) = sample();
        for text in [
            "在读",
            "证明",
            "在读证明",
            "zdzm",
            "zaiduzhengming",
            "zaidu",
            "zd",
            "zdz",
            "zai du zheng ming",
            "ZDZM",
            "ｚｄｚｍ",
            "zaidu证明",
            "在读zm",
            "zhengming",
            "读证",
            "在读证明怎么办理",
        ] {
            let found = ids(&idx, &q(text));
            assert_eq!(found.first(), Some(&zd.id), "{text:?} should find 在读证明 first, got {found:?}");
        }
    }

    #[test]
    fn pinyin_covers_polyphonic_characters() {
        let (idx, _, others) = sample();
        let bank = &others[5];
        assert_eq!(ids(&idx, &q("yinhangka")).first(), Some(&bank.id));
        assert_eq!(ids(&idx, &q("yhk")).first(), Some(&bank.id));
        let vpn = &others[6];
        assert_eq!(ids(&idx, &q("vpn")).first(), Some(&vpn.id));
        assert_eq!(ids(&idx, &q("vpnzh")).first(), Some(&vpn.id));
        assert_eq!(ids(&idx, &q("vpnzhsq")).first(), Some(&vpn.id));
        assert_eq!(ids(&idx, &q("vzhsq")), Vec::<Uuid>::new());
    }

    #[test]
    fn words_that_match_nothing_find_nothing() {
        let (idx, _, _) = sample();
        for text in ["宿舍调换", "xyz", "zzzz", "在读 成绩单"] {
            assert!(ids(&idx, &q(text)).is_empty(), "{text:?} matched");
        }
    }

    #[test]
    fn filters_narrow_by_category_department_and_audience() {
        let cat = Uuid::now_v7();
        let dept = Uuid::now_v7();
        let a = GuideDoc { category_id: Some(cat), category_name: Some("学籍".into()), ..doc("在读证明") };
        let b =
            GuideDoc { department_id: dept, audiences: vec!["staff".into(), "alumni".into()], ..doc("在职证明") };
        let c = doc("收入证明");
        let everyone = GuideDoc { audiences: Vec::new(), ..doc("无犯罪记录证明") };
        let idx = index_of(vec![a.clone(), b.clone(), c.clone(), everyone.clone()]);
        let mut all = ids(&idx, &q("证明"));
        all.sort();
        let mut expected = vec![a.id, b.id, c.id, everyone.id];
        expected.sort();
        assert_eq!(all, expected);
        assert_eq!(ids(&idx, &GuideQuery { category_id: Some(cat), ..q("证明") }), vec![a.id]);
        assert_eq!(ids(&idx, &GuideQuery { department_id: Some(dept), ..q("证明") }), vec![b.id]);
        let mut alumni = ids(&idx, &GuideQuery { audience: Some("alumni".into()), ..q("证明") });
        alumni.sort();
        let mut expected = vec![b.id, everyone.id];
        expected.sort();
        assert_eq!(alumni, expected);
        let mut students = ids(&idx, &GuideQuery { audience: Some("student".into()), ..q("证明") });
        students.sort();
        let mut expected = vec![a.id, c.id, everyone.id];
        expected.sort();
        assert_eq!(students, expected);
        // Guides without an audience are for everyone.
        assert_eq!(ids(&idx, &GuideQuery { audience: Some("visitor".into()), ..q("证明") }), vec![everyone.id]);
        assert!(ids(&idx, &GuideQuery { category_id: Some(Uuid::now_v7()), ..q("证明") }).is_empty());
    }

    #[test]
    fn a_name_match_ranks_above_a_body_only_match() {
        let body_only = GuideDoc {
            body: "办理完成后可开具证明。证明材料须加盖公章。学生可申请在读证明以外的其他证明。".into(),
            summary: "学生医疗费用报销".into(),
            ..doc("医疗费报销")
        };
        let named = doc("收入证明");
        let exact = doc("证明");
        let idx = index_of(vec![body_only.clone(), named.clone(), exact.clone()]);
        let found = ids(&idx, &q("证明"));
        assert_eq!(found, vec![exact.id, named.id, body_only.id]);
        // The body match is highlighted.
        let (_, hits) = idx.search_guides_detailed(&q("公章")).expect("search");
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].id, body_only.id);
        assert!(hits[0].highlight.as_deref().is_some_and(|h| h.contains("<b>公章</b>")), "{:?}", hits[0].highlight);
    }

    #[test]
    fn paging_counts_all_and_returns_the_requested_slice() {
        let docs: Vec<GuideDoc> = (0..25).map(|i| doc(&format!("证明{i}号"))).collect();
        let idx = index_of(docs);
        let page1 = idx.search_guides(&GuideQuery { limit: 10, ..q("证明") }).expect("search");
        assert_eq!(page1.total, 25);
        assert_eq!(page1.hits.len(), 10);
        let page3 = idx.search_guides(&GuideQuery { limit: 10, offset: 20, ..q("证明") }).expect("search");
        assert_eq!(page3.total, 25);
        assert_eq!(page3.hits.len(), 5);
        let far = idx.search_guides(&GuideQuery { limit: 100, offset: 99_999_900, ..q("证明") }).expect("search");
        assert_eq!((far.total, far.hits.len()), (25, 0));
        let none = idx.search_guides(&GuideQuery { limit: 0, ..q("证明") }).expect("search");
        assert_eq!((none.total, none.hits.len()), (25, 0));
    }

    #[test]
    fn hostile_queries_do_not_panic() {
        let (idx, zd, _) = sample();
        let long = "证".repeat(1000);
        let control: String = (0u8..32).map(char::from).collect();
        for text in [
            "\"",
            "*",
            ":",
            "(",
            ")",
            "AND",
            "OR NOT",
            "name:在读",
            "在读*",
            "\"在读证明",
            "+-&&||!(){}[]^\"~*?:\\/",
            "😀",
            "😀在读😀",
            "\u{0}",
            &control,
            "\u{202e}zdzm",
            "\u{FEFF}",
            "证 证 证 证",
            "a",
            "\\",
            "%",
            "_",
            "'; DROP TABLE guides;--",
            "\u{10FFFF}",
            "ｚ",
            "\u{3000}",
        ] {
            let res = idx.search_guides(&q(text));
            match res {
                Ok(_) => {}
                Err(e) => assert_eq!(e.error_code().status(), 400, "{text:?}: {e:?}"),
            }
        }
        assert!(idx.search_guides(&q(&long)).is_err_and(|e| e.error_code().status() == 400));
        assert!(idx.search_guides(&q("   ")).is_err_and(|e| e.error_code().status() == 400));
        assert!(idx.search_guides(&q("")).is_err_and(|e| e.error_code().status() == 400));
        // Punctuation around words is ignored.
        assert_eq!(ids(&idx, &q("\"在读证明\"")).first(), Some(&zd.id));
        assert_eq!(ids(&idx, &q("zdzm*")).first(), Some(&zd.id));
    }

    #[test]
    fn removed_and_replaced_guides_leave_the_index() {
        let (idx, zd, _) = sample();
        let total = idx.len();
        let later = zd.updated_at + chrono::TimeDelta::seconds(1);
        idx.inner.apply(Changes { removes: vec![(zd.id, Some(later))], ..Changes::default() }).expect("apply");
        assert!(!ids(&idx, &q("zdzm")).contains(&zd.id));
        assert_eq!(idx.len(), total - 1);
        // A stale copy (read before the removal) does not come back.
        idx.inner.apply(Changes { upserts: vec![zd.clone()], ..Changes::default() }).expect("apply");
        assert!(!ids(&idx, &q("zdzm")).contains(&zd.id));
        // A newer version does, under its new name.
        let renamed =
            GuideDoc {
                name: "在读证明书".into(), updated_at: later + chrono::TimeDelta::seconds(1), ..zd.clone()
            };
        idx.inner.apply(Changes { upserts: vec![renamed], ..Changes::default() }).expect("apply");
        assert_eq!(ids(&idx, &q("zdzms")), vec![zd.id]);
        assert_eq!(idx.len(), total);
        // A guide whose row is gone is removed whatever was seen.
        idx.inner.apply(Changes { removes: vec![(zd.id, None)], ..Changes::default() }).expect("apply");
        assert!(ids(&idx, &q("zdzms")).is_empty());
        assert_eq!(idx.len(), total - 1);
    }

    #[test]
    fn content_text_is_collected_from_any_shape() {
        let content = serde_json::json!({
            "conditions": "须为在籍学生",
            "materials": [{"name": "学生证复印件", "required": true, "file_id": "0190f0e0-0000-7000-8000-000000000000"}],
            "fee": {"amount": 0, "basis": "免费"},
            "url": "https://example.org/x",
        });
        let mut out = String::new();
        collect_text(&content, None, &mut out);
        assert!(out.contains("须为在籍学生") && out.contains("学生证复印件") && out.contains("免费"));
        assert!(!out.contains("example.org") && !out.contains("0190f0e0"));
        let huge = serde_json::json!({"a": "字".repeat(MAX_BODY_BYTES)});
        let mut out = String::new();
        collect_text(&huge, None, &mut out);
        assert!(out.len() <= MAX_BODY_BYTES + 1);
    }

    #[test]
    fn pinyin_terms_of_a_name() {
        let (start, inner, syllables) = pinyin_terms("在读证明");
        assert!(start.contains("zaiduzhengming") && start.contains("zdzm"));
        assert!(inner.contains("zhengming") && inner.contains("zm") && inner.contains("duzhengming"));
        assert!(syllables.contains("zai") && syllables.contains("ming"));
        let (start, _, _) = pinyin_terms("绿色通道");
        assert!(start.contains("lvsetongdao") && start.contains("lstd"), "{start:?}");
    }
}
