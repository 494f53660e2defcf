//! The service hall: categories, guides (办事指南) with their versions and sample files, quick links,
//! favourites, recent visits and consultation (在线咨询).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::{Validate, ValidationError};

use super::common::PageQuery;
use super::org::{validate_code, validate_text};

string_enum! {
    /// Who a service is for (办事对象); the same codes as a user's kind.
    Audience { Student => "student", Staff => "staff", Alumni => "alumni", Visitor => "visitor" }
}
string_enum! {
    /// Where a service is offered: the web hall, the mobile app, WeChat.
    Channel { Pc => "pc", App => "app", Wechat => "wechat" }
}
string_enum! {
    /// A guide in the hall: never published, published, or taken off the hall.
    GuideStatus { Draft => "draft", Published => "published", Offline => "offline" }
}
string_enum! {
    /// One version of a guide's content: being edited, the one in the hall, or replaced by a later one.
    GuideVersionStatus { Draft => "draft", Published => "published", Superseded => "superseded" }
}
string_enum! {
    /// In what form an application material is handed in.
    MaterialForm { Original => "original", Copy => "copy", Electronic => "electronic", Either => "either" }
}
string_enum! {
    /// A question waiting for its answer, or answered.
    QuestionStatus { Open => "open", Answered => "answered" }
}

impl Audience {
    /// The audience of a user of this kind (`student`, `staff`, `alumni`, `visitor`).
    pub fn of_user_kind(kind: &str) -> Audience {
        Audience::parse(kind).unwrap_or(Audience::Visitor)
    }
}

fn validate_lines(v: &[String]) -> Result<(), ValidationError> {
    for s in v {
        if s.trim().is_empty() || s.chars().count() > 500 {
            return Err(ValidationError::new("length"));
        }
        validate_text(s)?;
    }
    Ok(())
}

/// Multi-line text: tabs and line breaks are fine, other control characters are not.
fn validate_long_text(s: &str) -> Result<(), ValidationError> {
    if s.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
        Err(ValidationError::new("control_characters"))
    } else {
        Ok(())
    }
}

fn default_true() -> bool {
    true
}

fn default_copies() -> i32 {
    1
}

// ---------------------------------------------------------------------------------------------
// Categories

/// A theme of the hall (办事主题).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CategoryView {
    /// Id.
    pub id: Uuid,
    /// Stable code.
    pub code: String,
    /// Name.
    pub name: String,
    /// English name.
    pub name_en: Option<String>,
    /// What belongs here.
    pub description: String,
    /// Icon name for clients.
    pub icon: Option<String>,
    /// Position in lists (ascending).
    pub sort_order: i32,
    /// Optimistic-lock version.
    pub version: i32,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// `POST /categories`.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct CreateCategory {
    /// Stable code: 1–32 letters, digits, `_`, `-`.
    #[validate(length(max = 32), custom(function = "validate_code"))]
    #[schema(pattern = "^[A-Za-z0-9_-]{1,32}$", max_length = 32)]
    pub code: String,
    /// Name.
    #[validate(length(min = 1, max = 64), custom(function = "validate_text"))]
    #[schema(pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$", min_length = 1, max_length = 64)]
    pub name: String,
    /// English name.
    #[validate(length(max = 64), custom(function = "validate_text"))]
    #[schema(pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$", max_length = 64)]
    pub name_en: Option<String>,
    /// What belongs here.
    #[validate(length(max = 500), custom(function = "validate_long_text"))]
    #[schema(pattern = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$", max_length = 500)]
    #[serde(default)]
    pub description: String,
    /// Icon name for clients.
    #[validate(length(max = 64), custom(function = "validate_text"))]
    #[schema(pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$", max_length = 64)]
    pub icon: Option<String>,
    /// Position in lists.
    #[validate(range(min = -100000, max = 100000))]
    #[schema(minimum = -100000, maximum = 100000)]
    #[serde(default)]
    pub sort_order: i32,
}

/// `PUT /categories/{id}`: send back the `version` you read.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct UpdateCategory {
    /// Name.
    #[validate(length(min = 1, max = 64), custom(function = "validate_text"))]
    #[schema(pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$", min_length = 1, max_length = 64)]
    pub name: String,
    /// English name.
    #[validate(length(max = 64), custom(function = "validate_text"))]
    #[schema(pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$", max_length = 64)]
    pub name_en: Option<String>,
    /// What belongs here.
    #[validate(length(max = 500), custom(function = "validate_long_text"))]
    #[schema(pattern = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$", max_length = 500)]
    #[serde(default)]
    pub description: String,
    /// Icon name for clients.
    #[validate(length(max = 64), custom(function = "validate_text"))]
    #[schema(pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$", max_length = 64)]
    pub icon: Option<String>,
    /// Position in lists.
    #[validate(range(min = -100000, max = 100000))]
    #[schema(minimum = -100000, maximum = 100000)]
    #[serde(default)]
    pub sort_order: i32,
    /// The version read.
    pub version: i32,
}

// ---------------------------------------------------------------------------------------------
// Guide content (one version)

/// 收费标准及依据. Services are free unless stated.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct Fee {
    /// Whether the service is free (免费).
    #[serde(default = "default_true")]
    pub free: bool,
    /// 收费标准: what is charged.
    #[validate(length(max = 1000), custom(function = "validate_long_text"))]
    #[schema(pattern = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$", max_length = 1000)]
    #[serde(default)]
    pub standard: String,
    /// 收费依据: the legal basis of the charge.
    #[validate(length(max = 1000), custom(function = "validate_long_text"))]
    #[schema(pattern = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$", max_length = 1000)]
    #[serde(default)]
    pub basis: String,
}

impl Default for Fee {
    fn default() -> Fee {
        Fee { free: true, standard: String::new(), basis: String::new() }
    }
}

/// One application material (申请材料).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct Material {
    /// Name of the material.
    #[validate(length(min = 1, max = 200), custom(function = "validate_text"))]
    #[schema(pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$", min_length = 1, max_length = 200)]
    pub name: String,
    /// Whether it is required (必要) or only needed in some cases.
    #[serde(default = "default_true")]
    pub required: bool,
    /// Original, copy, electronic or either.
    pub form: MaterialForm,
    /// Number of copies (份数).
    #[validate(range(min = 0, max = 99))]
    #[schema(minimum = 0, maximum = 99)]
    #[serde(default = "default_copies")]
    pub copies: i32,
    /// Remarks (填写要求、来源).
    #[validate(length(max = 1000), custom(function = "validate_long_text"))]
    #[schema(pattern = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$", max_length = 1000)]
    #[serde(default)]
    pub note: String,
    /// A sample or blank form of this material: a file uploaded to the guide.
    pub sample_file_id: Option<Uuid>,
}

/// A downloadable sample text or blank form (示范文本及空表).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct SampleFile {
    /// A file uploaded to the guide (`POST /guides/{id}/files`).
    pub file_id: Uuid,
    /// Title shown for it.
    #[validate(length(min = 1, max = 200), custom(function = "validate_text"))]
    #[schema(pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$", min_length = 1, max_length = 200)]
    pub title: String,
}

/// Where to ask and where to go (咨询方式, 办理地点).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    /// Phone (咨询电话).
    #[validate(length(max = 100), custom(function = "validate_text"))]
    #[schema(pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$", max_length = 100)]
    #[serde(default)]
    pub phone: String,
    /// Office location (办理地点).
    #[validate(length(max = 200), custom(function = "validate_text"))]
    #[schema(pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$", max_length = 200)]
    #[serde(default)]
    pub location: String,
    /// Office hours (办公时间).
    #[validate(length(max = 200), custom(function = "validate_text"))]
    #[schema(pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$", max_length = 200)]
    #[serde(default)]
    pub office_hours: String,
    /// E-mail.
    #[validate(length(max = 200), custom(function = "validate_text"))]
    #[schema(pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$", max_length = 200)]
    #[serde(default)]
    pub email: String,
}

/// A frequently asked question written into the guide (常见问题).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct FaqEntry {
    /// Question.
    #[validate(length(min = 1, max = 500), custom(function = "validate_long_text"))]
    #[schema(
        pattern = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$",
        min_length = 1,
        max_length = 500
    )]
    pub question: String,
    /// Answer.
    #[validate(length(min = 1, max = 4000), custom(function = "validate_long_text"))]
    #[schema(
        pattern = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$",
        min_length = 1,
        max_length = 4000
    )]
    pub answer: String,
}

/// The content of one guide version: every field of 第十条.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct GuideContent {
    /// 事项名称.
    #[validate(length(min = 1, max = 128), custom(function = "validate_text"))]
    #[schema(pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$", min_length = 1, max_length = 128)]
    pub name: String,
    /// English name.
    #[validate(length(max = 128), custom(function = "validate_text"))]
    #[schema(pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$", max_length = 128)]
    #[serde(default)]
    pub name_en: Option<String>,
    /// One-line description for lists and the hall.
    #[validate(length(max = 500), custom(function = "validate_long_text"))]
    #[schema(pattern = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$", max_length = 500)]
    #[serde(default)]
    pub summary: String,
    /// Extra search words, separated by spaces.
    #[validate(length(max = 500), custom(function = "validate_text"))]
    #[schema(pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$", max_length = 500)]
    #[serde(default)]
    pub keywords: String,
    /// Theme (办事主题).
    #[serde(default)]
    pub category_id: Option<Uuid>,
    /// The process applied through online (网上办理); none for services handled at the counter.
    #[serde(default)]
    pub process_id: Option<Uuid>,
    /// 承办机构, when another office than the owning department does the work.
    #[validate(length(max = 128), custom(function = "validate_text"))]
    #[schema(pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$", max_length = 128)]
    #[serde(default)]
    pub agency: Option<String>,
    /// Who may use the service; empty means everyone.
    #[validate(length(max = 4))]
    #[schema(max_items = 4)]
    #[serde(default)]
    pub audiences: Vec<Audience>,
    /// Where it is offered; empty means every channel.
    #[validate(length(max = 3))]
    #[schema(max_items = 3)]
    #[serde(default)]
    pub channels: Vec<Channel>,
    /// 办理条件.
    #[validate(length(max = 8000), custom(function = "validate_long_text"))]
    #[schema(pattern = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$", max_length = 8000)]
    #[serde(default)]
    pub conditions: String,
    /// 办理时限 in working days (0: handled at once, 即办).
    #[validate(range(min = 0, max = 365))]
    #[schema(minimum = 0, maximum = 365)]
    pub time_limit_days: i32,
    /// 收费标准及依据.
    #[validate(nested)]
    #[serde(default)]
    pub fee: Fee,
    /// 申请材料.
    #[validate(length(max = 50), nested)]
    #[schema(max_items = 50)]
    #[serde(default)]
    pub materials: Vec<Material>,
    /// 示范文本及空表.
    #[validate(length(max = 20), nested)]
    #[schema(max_items = 20)]
    #[serde(default)]
    pub sample_files: Vec<SampleFile>,
    /// The steps at the counter, for services (or parts of them) handled offline (线下办理流程).
    #[validate(length(max = 30), custom(function = "validate_lines"))]
    #[schema(max_items = 30)]
    #[serde(default)]
    pub offline_steps: Vec<String>,
    /// Contact phone, location, office hours.
    #[validate(nested)]
    #[serde(default)]
    pub contact: Contact,
    /// 设定依据: the rules the service is based on.
    #[validate(length(max = 4000), custom(function = "validate_long_text"))]
    #[schema(pattern = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$", max_length = 4000)]
    #[serde(default)]
    pub legal_basis: String,
    /// 常见问题.
    #[validate(length(max = 50), nested)]
    #[schema(max_items = 50)]
    #[serde(default)]
    pub faq: Vec<FaqEntry>,
}

impl GuideContent {
    /// Ids of the files the content refers to (sample files and material samples), without duplicates.
    pub fn file_ids(&self) -> Vec<Uuid> {
        let mut v: Vec<Uuid> = self.sample_files.iter().map(|f| f.file_id).collect();
        v.extend(self.materials.iter().filter_map(|m| m.sample_file_id));
        v.sort();
        v.dedup();
        v
    }
}

// ---------------------------------------------------------------------------------------------
// Guides

/// `POST /guides`: a new guide with its first version as a draft.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct CreateGuide {
    /// Stable code: 1–64 letters, digits, `_`, `-`.
    #[validate(custom(function = "validate_code"))]
    #[schema(pattern = "^[A-Za-z0-9_-]{1,64}$", min_length = 1, max_length = 64)]
    pub code: String,
    /// The owning department (实施主体).
    pub department_id: Uuid,
    /// The content of version 1.
    #[validate(nested)]
    pub content: GuideContent,
}

/// `PUT /guides/{id}`: edit the latest draft, or start a new draft when the latest is published.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct UpdateGuide {
    /// The guide's `version` read.
    pub version: i32,
    /// The whole content of the draft.
    #[validate(nested)]
    pub content: GuideContent,
}

/// `POST /guides/{id}/publish`, `POST /guides/{id}/offline`.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct GuideVersionCheck {
    /// The guide's `version` read.
    pub version: i32,
}

/// `PUT /guides/{id}/recommendation`: curate the hall's recommended services (推荐事务).
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct SetRecommendation {
    /// Whether the guide is recommended.
    pub recommended: bool,
    /// Position among recommended guides (ascending).
    #[validate(range(min = 0, max = 100000))]
    #[schema(minimum = 0, maximum = 100000)]
    #[serde(default)]
    pub recommend_rank: i32,
    /// The guide's `version` read.
    pub version: i32,
}

/// A guide in lists, the hall, favourites and recent items.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GuideSummary {
    /// Id.
    pub id: Uuid,
    /// Stable code.
    pub code: String,
    /// 事项名称.
    pub name: String,
    /// English name.
    pub name_en: Option<String>,
    /// One-line description.
    pub summary: String,
    /// Owning department (实施主体).
    pub department_id: Uuid,
    /// Its name.
    pub department_name: String,
    /// Theme.
    pub category_id: Option<Uuid>,
    /// The process applied through, if any.
    pub process_id: Option<Uuid>,
    /// Whether it can be applied for online now (its process has an online version).
    pub online: bool,
    /// Who may use it; empty means everyone.
    pub audiences: Vec<Audience>,
    /// Where it is offered; empty means every channel.
    pub channels: Vec<Channel>,
    /// Status in the hall.
    pub status: GuideStatus,
    /// The version shown in the hall.
    pub published_version: Option<i32>,
    /// The newest version (maybe a draft).
    pub latest_version: i32,
    /// Curated as recommended.
    pub recommended: bool,
    /// Position among recommended guides.
    pub recommend_rank: i32,
    /// The built-in guide that only the IT office edits.
    pub protected: bool,
    /// Optimistic-lock version of the guide.
    pub version: i32,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Last publication.
    pub published_at: Option<DateTime<Utc>>,
}

/// A file uploaded to a guide.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GuideFileView {
    /// Id.
    pub id: Uuid,
    /// File name.
    pub filename: String,
    /// Media type, established from the contents.
    pub content_type: String,
    /// Bytes.
    pub size: i64,
    /// Hex SHA-256 of the contents.
    pub sha256: String,
    /// Uploaded.
    pub created_at: DateTime<Utc>,
    /// Where to download it.
    pub url: String,
}

/// A node of the online process, for drawing 网上办理流程.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FlowNode {
    /// Node id.
    pub id: String,
    /// Name (e.g. 辅导员审核).
    pub name: String,
    /// `start`, `end`, `user_task`, `exclusive_gateway`, `parallel_gateway`, `inclusive_gateway`,
    /// `service_task`, `cc`.
    pub kind: String,
}

/// An arrow of the online process.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FlowEdge {
    /// From node.
    pub from: String,
    /// To node.
    pub to: String,
    /// Label, if any.
    pub label: Option<String>,
}

/// 网上办理流程: the nodes and arrows of the process version new affairs start on.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProcessFlow {
    /// The process key (`POST /affairs` takes it).
    pub process_key: String,
    /// The version drawn.
    pub process_version: i32,
    /// Nodes.
    pub nodes: Vec<FlowNode>,
    /// Arrows.
    pub flows: Vec<FlowEdge>,
}

/// A guide as read: the row's fields and the content of one version.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GuideView {
    /// Row fields.
    #[serde(flatten)]
    pub guide: GuideSummary,
    /// The theme's name.
    pub category_name: Option<String>,
    /// Number of the version shown.
    pub shown_version: i32,
    /// Its status.
    pub shown_status: GuideVersionStatus,
    /// Its content.
    pub content: GuideContent,
    /// The files the content refers to.
    pub files: Vec<GuideFileView>,
    /// 网上办理流程, when the linked process has an online version.
    pub flow: Option<ProcessFlow>,
}

/// One version of a guide in its history.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GuideVersionView {
    /// Number, from 1.
    pub number: i32,
    /// Draft, published or superseded.
    pub status: GuideVersionStatus,
    /// Who started it.
    pub created_by: Uuid,
    /// When.
    pub created_at: DateTime<Utc>,
    /// Who published it.
    pub published_by: Option<Uuid>,
    /// When.
    pub published_at: Option<DateTime<Utc>>,
}

/// One version with its content.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GuideVersionDetail {
    /// Version fields.
    #[serde(flatten)]
    pub version: GuideVersionView,
    /// The content.
    pub content: GuideContent,
}

/// Filters for `GET /guides`.
#[derive(Debug, Clone, Deserialize, IntoParams, Validate)]
#[into_params(parameter_in = Query)]
pub struct GuideQuery {
    /// Words to search for: Chinese, pinyin or initials (`zdzm`).
    #[validate(length(max = 100), custom(function = "validate_text"))]
    #[param(pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$", max_length = 100)]
    pub q: Option<String>,
    /// Only this theme.
    pub category_id: Option<Uuid>,
    /// Only this department (实施主体).
    pub department_id: Option<Uuid>,
    /// Only guides for this audience.
    pub audience: Option<Audience>,
    /// Only guides offered on this channel.
    pub channel: Option<Channel>,
    /// With a token of a guide manager: also the drafts and offline guides they manage.
    pub include_unpublished: Option<bool>,
    /// Page number, from 1.
    #[validate(range(min = 1, max = 1_000_000))]
    #[param(minimum = 1, maximum = 1_000_000, default = 1)]
    pub page: Option<u64>,
    /// Items per page, at most 100.
    #[validate(range(min = 1, max = 100))]
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub page_size: Option<u64>,
}

impl GuideQuery {
    /// The paging part.
    pub fn paging(&self) -> PageQuery {
        PageQuery { page: self.page, page_size: self.page_size }
    }
}

/// `GET /guides/{id}` options.
#[derive(Debug, Clone, Deserialize, IntoParams, Validate)]
#[into_params(parameter_in = Query)]
pub struct GuideReadQuery {
    /// A version number (guide managers only); the published version by default.
    #[validate(range(min = 1, max = 1_000_000))]
    #[param(minimum = 1, maximum = 1_000_000)]
    pub version: Option<i32>,
}

// ---------------------------------------------------------------------------------------------
// The hall

/// A quick channel (快捷通道).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HallLinkView {
    /// Id.
    pub id: Uuid,
    /// Title.
    pub title: String,
    /// English title.
    pub title_en: Option<String>,
    /// Where it leads (an external system), or none when it opens a guide.
    pub url: Option<String>,
    /// The guide it opens.
    pub guide_id: Option<Uuid>,
    /// Icon name for clients.
    pub icon: Option<String>,
    /// Who sees it; empty means everyone.
    pub audiences: Vec<Audience>,
    /// Position (ascending).
    pub sort_order: i32,
    /// Optimistic-lock version.
    pub version: i32,
}

fn validate_url(s: &str) -> Result<(), ValidationError> {
    let ok = (s.starts_with("https://") || s.starts_with("http://") || (s.starts_with('/') && !s.starts_with("//")))
        && !s.chars().any(|c| c.is_control() || c.is_whitespace());
    if ok { Ok(()) } else { Err(ValidationError::new("url")) }
}

/// `POST /hall-links`, `PUT /hall-links/{id}` (with `version`).
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct HallLinkRequest {
    /// Title.
    #[validate(length(min = 1, max = 64), custom(function = "validate_text"))]
    #[schema(pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$", min_length = 1, max_length = 64)]
    pub title: String,
    /// English title.
    #[validate(length(max = 64), custom(function = "validate_text"))]
    #[schema(pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$", max_length = 64)]
    #[serde(default)]
    pub title_en: Option<String>,
    /// An `http(s)://` address or a path of this site; give this or `guide_id`.
    #[validate(length(max = 500), custom(function = "validate_url"))]
    #[schema(pattern = "^(https?://|/$|/[^/])[^\\s\\u0000-\\u001F\\u007F-\\u009F]*$", max_length = 500)]
    #[serde(default)]
    pub url: Option<String>,
    /// A guide to open; give this or `url`.
    #[serde(default)]
    pub guide_id: Option<Uuid>,
    /// Icon name for clients.
    #[validate(length(max = 64), custom(function = "validate_text"))]
    #[schema(pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$", max_length = 64)]
    #[serde(default)]
    pub icon: Option<String>,
    /// Who sees it; empty means everyone.
    #[validate(length(max = 4))]
    #[schema(max_items = 4)]
    #[serde(default)]
    pub audiences: Vec<Audience>,
    /// Position.
    #[validate(range(min = -100000, max = 100000))]
    #[schema(minimum = -100000, maximum = 100000)]
    #[serde(default)]
    pub sort_order: i32,
    /// For updates: the version read.
    #[serde(default)]
    pub version: Option<i32>,
}

/// A guide with how often it was applied for recently.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HotGuide {
    /// The guide.
    #[serde(flatten)]
    pub guide: GuideSummary,
    /// Affairs started from it in the last 30 days.
    pub uses: u64,
}

/// A theme with its number of published guides.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CategoryCount {
    /// The theme.
    #[serde(flatten)]
    pub category: CategoryView,
    /// Published guides in it (for the caller's audience).
    pub guides: u64,
}

/// `GET /hall`: the front page.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HallView {
    /// The audience the page is fitted to (`visitor` when not signed in).
    pub audience: Audience,
    /// 热门事务: most applied for in the last 30 days.
    pub hot: Vec<HotGuide>,
    /// 推荐事务: curated, for this audience.
    pub recommended: Vec<GuideSummary>,
    /// 快捷通道: configured links for this audience.
    pub quick_links: Vec<HallLinkView>,
    /// The caller's favourites (signed in only).
    pub favorites: Vec<GuideSummary>,
    /// The caller's recently visited guides (signed in only).
    pub recent: Vec<GuideSummary>,
    /// 办事指南导航: themes with their counts.
    pub categories: Vec<CategoryCount>,
}

/// A favourite or recently visited guide.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MyGuide {
    /// The guide.
    #[serde(flatten)]
    pub guide: GuideSummary,
    /// When it was marked (favourites) or last visited (recent).
    pub at: DateTime<Utc>,
    /// Visits (recent only; 0 for favourites).
    pub visits: i32,
}

// ---------------------------------------------------------------------------------------------
// Consultation

/// `POST /guides/{id}/questions`.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct AskQuestion {
    /// The question.
    #[validate(length(min = 1, max = 2000), custom(function = "validate_long_text"))]
    #[schema(
        pattern = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$",
        min_length = 1,
        max_length = 2000
    )]
    pub body: String,
}

/// `POST /questions/{id}/answers`.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct AnswerQuestion {
    /// The answer.
    #[validate(length(min = 1, max = 4000), custom(function = "validate_long_text"))]
    #[schema(
        pattern = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$",
        min_length = 1,
        max_length = 4000
    )]
    pub body: String,
}

/// `PUT /questions/{id}/faq`: publish an answered question to the guide's FAQ, or take it back.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct SetFaq {
    /// Whether it shows in the public FAQ.
    pub is_faq: bool,
    /// The question's `version` read.
    pub version: i32,
}

/// An answer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AnswerView {
    /// Id.
    pub id: Uuid,
    /// Text.
    pub body: String,
    /// Who answered (name).
    pub responder_name: String,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// A question with its answers. The asker's name is shown only to the asker and to staff.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QuestionView {
    /// Id.
    pub id: Uuid,
    /// The guide asked about.
    pub guide_id: Uuid,
    /// Its name.
    pub guide_name: String,
    /// The question.
    pub body: String,
    /// Open or answered.
    pub status: QuestionStatus,
    /// Shown in the guide's public FAQ.
    pub is_faq: bool,
    /// Whether the caller asked it.
    pub mine: bool,
    /// The asker's name (to the asker and staff only).
    pub asker_name: Option<String>,
    /// Answers, oldest first.
    pub answers: Vec<AnswerView>,
    /// Optimistic-lock version.
    pub version: i32,
    /// Asked.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// Filters for question lists.
#[derive(Debug, Clone, Deserialize, IntoParams, Validate)]
#[into_params(parameter_in = Query)]
pub struct QuestionQuery {
    /// Only open or only answered questions.
    pub status: Option<QuestionStatus>,
    /// Page number, from 1.
    #[validate(range(min = 1, max = 1_000_000))]
    #[param(minimum = 1, maximum = 1_000_000, default = 1)]
    pub page: Option<u64>,
    /// Items per page, at most 100.
    #[validate(range(min = 1, max = 100))]
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub page_size: Option<u64>,
}

impl QuestionQuery {
    /// The paging part.
    pub fn paging(&self) -> PageQuery {
        PageQuery { page: self.page, page_size: self.page_size }
    }
}
