//! Form definitions, validation of submitted data, and per-node field permissions.
//!
//! A [`FormDefinition`] is a list of typed fields. [`validate_definition`] checks a definition when
//! it is saved; [`validate_data`] checks what an applicant submits and returns it normalised;
//! [`check_patch`] applies a handler's `form_patch` under the node's field permissions; [`redact`]
//! removes the fields a handler may not see.
//!
//! # Values
//!
//! Submitted data is a JSON object keyed by field key. Empty values (`null`, a string of only
//! whitespace, `[]`, or an object whose values are all empty) count as absent: `required` refuses
//! them and the normalised data leaves them out. Limits (lengths, ranges, row counts) apply to
//! values that are present; `required` alone decides whether a value must be present.
//!
//! | kind | value | normalised |
//! | --- | --- | --- |
//! | `text` | string, one line | trimmed; a pattern may normalise further (`x` → `X` in an ID card) |
//! | `textarea` | string, `\n` and `\t` allowed | trimmed, `\r\n` and `\r` become `\n` |
//! | `number` | JSON number | integers as JSON integers when `integer` is set (`5.0` → `5`) |
//! | `money` | yuan as a decimal string with at most two decimals (`"1234.5"`), or a JSON integer of yuan | the string with exactly two decimals (`"1234.50"`) |
//! | `date` | `"YYYY-MM-DD"` | the same |
//! | `date_range` | `{ "start": "YYYY-MM-DD", "end": "YYYY-MM-DD" }`, start ≤ end | the same |
//! | `select` | an option value, or an array of them when `multiple` | multiple values in option order |
//! | `radio` | an option value | the same |
//! | `checkbox` | an array of option values | in option order |
//! | `user`, `department`, `certificate` | an id string (1–64 of ASCII letters, digits, `_`, `-`) | trimmed |
//! | `file` | an array of attachment ids | the same |
//! | `table` | an array of row objects keyed by column key | each row normalised |
//!
//! Money is kept as a decimal string rather than a float so that it is exact and reads the same in
//! history, exports and certificates; [`Amount`] holds it as integer fen. A condition compares it
//! with `double(form.amount) > 5000.0`.
//!
//! Lengths are counted in Unicode characters (`"请假事由"` is 4), after trimming. Control characters
//! (and the bidirectional-override characters used to disguise text) are refused in every string;
//! `textarea` allows line breaks and tabs.
//!
//! # Visibility
//!
//! A field with `visible_if` is shown only when the CEL condition is true. The condition sees
//! `applicant` and `form`, where `form` holds the normalised values of the visible fields *above*
//! it (so hiding cascades and there are no cycles; [`validate_definition`] refuses references to
//! other fields). A condition that cannot be evaluated — typically because a field it reads is
//! empty, as in `form.days > 3` with no `days` — counts as false; write `has(form.days) && ...`
//! to make that explicit. A table column's condition sees the fields above the table and shows or
//! hides the whole column. Values of hidden fields are dropped, and hidden required fields are not
//! required.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::expr::{Expr, ExprError};

/// What a node's handler may do with a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum FieldAccess {
    /// May change it in a `form_patch`.
    Editable,
    /// May change it, and must fill it before approving (节点必填): a visible field left empty
    /// refuses the approval (see [`missing_required`]).
    Required,
    /// Sees it, may not change it (the default for handlers).
    #[default]
    ReadOnly,
    /// Neither sees nor changes it.
    Hidden,
}

impl FieldAccess {
    /// Whether a handler may change the field ([`FieldAccess::Editable`] or [`FieldAccess::Required`]).
    pub fn is_editable(self) -> bool {
        matches!(self, FieldAccess::Editable | FieldAccess::Required)
    }
}

/// Longest field key, in bytes.
pub const MAX_KEY_LEN: usize = 64;
/// `text` length limit when the definition sets none, in characters.
pub const TEXT_DEFAULT_MAX_LEN: u32 = 200;
/// Highest `max_len` a `text` field may declare.
pub const TEXT_MAX_LEN_LIMIT: u32 = 2_000;
/// `textarea` length limit when the definition sets none, in characters.
pub const TEXTAREA_DEFAULT_MAX_LEN: u32 = 5_000;
/// Highest `max_len` a `textarea` field may declare.
pub const TEXTAREA_MAX_LEN_LIMIT: u32 = 50_000;
/// `file` count limit when the definition sets none.
pub const FILE_DEFAULT_MAX_FILES: u32 = 10;
/// Most departments a `department` field with `multiple` takes.
pub const DEPARTMENTS_MAX: usize = 20;
/// Highest `max_files` a `file` field may declare.
pub const FILE_MAX_FILES_LIMIT: u32 = 50;
/// `file` size limit per file when the definition sets none, in MiB (checked by the server).
pub const FILE_DEFAULT_MAX_SIZE_MB: u32 = 20;
/// Highest `max_size_mb` a `file` field may declare.
pub const FILE_MAX_SIZE_MB_LIMIT: u32 = 1_024;
/// `table` row limit when the definition sets none.
pub const TABLE_DEFAULT_MAX_ROWS: u32 = 100;
/// Highest `max_rows` a `table` field may declare.
pub const TABLE_MAX_ROWS_LIMIT: u32 = 1_000;
/// Longest id of a user, department, certificate or attachment, in bytes.
pub const MAX_ID_LEN: usize = 64;

/// A form: its fields in display order.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormDefinition {
    /// The fields, top to bottom.
    pub fields: Vec<FieldDef>,
}

impl FormDefinition {
    /// The top-level field with this key.
    pub fn field(&self, key: &str) -> Option<&FieldDef> {
        self.fields.iter().find(|f| f.key == key)
    }
}

/// One field of a form (or one column of a table).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldDef {
    /// Key in the form data; usable in conditions as `form.<key>`.
    pub key: String,
    /// Chinese label.
    pub label: String,
    /// English label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_en: Option<String>,
    /// Type and its limits.
    pub kind: FieldKind,
    /// A value must be given when the field is visible.
    #[serde(default)]
    pub required: bool,
    /// Help text shown with the field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    /// English help text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help_en: Option<String>,
    /// CEL condition over `form` and `applicant`; the field is shown only when it is true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visible_if: Option<String>,
}

/// An option of a `select`, `radio` or `checkbox` field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Choice {
    /// Stored value.
    pub value: String,
    /// Chinese label.
    pub label: String,
    /// English label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_en: Option<String>,
}

/// The type of a field and its limits. Serialised with a `type` tag:
/// `{ "type": "money", "max": "5000" }`. `user` and `department` are empty struct variants so that
/// unknown keys are refused for them too.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum FieldKind {
    /// One line of text.
    Text {
        /// Fewest characters.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min_len: Option<u32>,
        /// Most characters (default [`TEXT_DEFAULT_MAX_LEN`]).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_len: Option<u32>,
        /// A named pattern from [`Pattern`], e.g. `phone_cn`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pattern: Option<String>,
    },
    /// Several lines of text.
    Textarea {
        /// Most characters (default [`TEXTAREA_DEFAULT_MAX_LEN`]).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_len: Option<u32>,
    },
    /// A number.
    Number {
        /// Smallest value.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min: Option<f64>,
        /// Largest value.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<f64>,
        /// Whole numbers only.
        #[serde(default)]
        integer: bool,
    },
    /// An amount of money in yuan, at most two decimals, not negative.
    Money {
        /// Smallest amount.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min: Option<Amount>,
        /// Largest amount.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<Amount>,
    },
    /// A calendar date.
    Date {
        /// Earliest date.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min: Option<NaiveDate>,
        /// Latest date.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<NaiveDate>,
    },
    /// A range of dates, both ends included.
    DateRange {
        /// Most days, counting both ends (a range from Monday to Monday is one day).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_days: Option<u32>,
    },
    /// A drop-down list.
    Select {
        /// The options.
        options: Vec<Choice>,
        /// Several options may be chosen.
        #[serde(default)]
        multiple: bool,
    },
    /// Exactly one of a few options.
    Radio {
        /// The options.
        options: Vec<Choice>,
    },
    /// Any number of a few options.
    Checkbox {
        /// The options.
        options: Vec<Choice>,
    },
    /// A user id (the server checks that the user exists).
    User {},
    /// A department id, or with `multiple` an array of them (the server checks that each exists).
    Department {
        /// Several departments may be chosen (at most [`DEPARTMENTS_MAX`]).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        multiple: bool,
    },
    /// Uploaded attachments, by attachment id (the server checks size and type with [`file_accepted`]).
    File {
        /// Most files (default [`FILE_DEFAULT_MAX_FILES`]).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_files: Option<u32>,
        /// Largest file in MiB (default [`FILE_DEFAULT_MAX_SIZE_MB`]).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_size_mb: Option<u32>,
        /// Accepted types: extensions such as `.pdf`, or media types such as `image/*` or
        /// `application/pdf`; empty accepts anything.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        accept: Vec<String>,
    },
    /// An electronic certificate from the applicant's wallet, by id.
    Certificate {
        /// The certificate type required (checked by the server).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        certificate_type: Option<String>,
    },
    /// Rows of the same columns (报销明细). Tables cannot contain tables.
    Table {
        /// The columns.
        columns: Vec<FieldDef>,
        /// Fewest rows.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min_rows: Option<u32>,
        /// Most rows (default [`TABLE_DEFAULT_MAX_ROWS`]).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_rows: Option<u32>,
    },
}

// ---------------------------------------------------------------------------------------------
// Money

/// A non-negative amount of money, held as integer fen and written as a yuan string with two
/// decimals (`"1234.50"`). Parsed from a string of 1–13 digits with an optional `.` and one or two
/// decimals, or from a JSON integer of yuan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Amount(i64);

impl Amount {
    /// Most integer digits of yuan.
    pub const MAX_YUAN_DIGITS: usize = 13;

    /// An amount of `fen` fen; `None` if negative or above the largest amount.
    pub fn from_fen(fen: i64) -> Option<Amount> {
        (0..=Self::max_fen()).contains(&fen).then_some(Amount(fen))
    }

    /// The amount in fen.
    pub fn fen(self) -> i64 {
        self.0
    }

    fn max_fen() -> i64 {
        // 13 nines of yuan and 99 fen.
        999_999_999_999_999
    }

    /// Parse a yuan string such as `"12"`, `"12.5"` or `"12.50"`.
    pub fn parse(s: &str) -> Option<Amount> {
        let (int, frac) = match s.split_once('.') {
            Some((i, f)) => (i, Some(f)),
            None => (s, None),
        };
        if int.is_empty() || int.len() > Self::MAX_YUAN_DIGITS || !int.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let mut fen = int.parse::<i64>().ok()?.checked_mul(100)?;
        if let Some(f) = frac {
            if f.is_empty() || f.len() > 2 || !f.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let cents = f.parse::<i64>().ok()? * if f.len() == 1 { 10 } else { 1 };
            fen = fen.checked_add(cents)?;
        }
        Amount::from_fen(fen)
    }

    /// Read a JSON value: a yuan string (surrounding whitespace ignored) or a JSON integer of yuan.
    pub fn from_json(v: &Value) -> Option<Amount> {
        match v {
            Value::String(s) => Amount::parse(s.trim()),
            Value::Number(n) => Amount::from_fen(i64::try_from(n.as_u64()?).ok()?.checked_mul(100)?),
            _ => None,
        }
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}", self.0 / 100, self.0 % 100)
    }
}

impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(deserializer)?;
        Amount::from_json(&v).ok_or_else(|| {
            serde::de::Error::custom("invalid amount: use yuan with at most two decimals, such as \"1234.50\"")
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Patterns

/// The named patterns a `text` field may require. The crate has no regular-expression engine, so
/// the vocabulary is fixed and each pattern is checked exactly:
///
/// | name | accepts |
/// | --- | --- |
/// | `digits` | one or more ASCII digits |
/// | `alphanumeric` | one or more ASCII letters or digits |
/// | `phone_cn` | a mainland mobile number: 11 digits, `1` then `3`–`9` |
/// | `id_card_cn` | a resident ID card number: 18 characters, 6-digit region (not starting with 0), a valid birth date from 1900, 3 digits and the ISO 7064 MOD 11-2 check character (`x` is normalised to `X`) |
/// | `email` | `local@domain`: local part of 1–64 of letters, digits and ``!#$%&'*+/=?^_`{|}~.-`` without leading, trailing or doubled dots; a domain of two or more labels of letters, digits and `-` (not at either end), ending in a label of two or more letters; 254 characters at most |
/// | `student_no` | a 学号 as the server stores it: 1–32 of ASCII letters, digits and `-`, starting with a letter or digit |
/// | `postcode_cn` | 6 digits |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Pattern {
    /// `digits`.
    Digits,
    /// `alphanumeric`.
    Alphanumeric,
    /// `phone_cn`.
    PhoneCn,
    /// `id_card_cn`.
    IdCardCn,
    /// `email`.
    Email,
    /// `student_no`.
    StudentNo,
    /// `postcode_cn`.
    PostcodeCn,
}

impl Pattern {
    /// Every pattern.
    pub const ALL: &'static [Pattern] = &[
        Pattern::Digits,
        Pattern::Alphanumeric,
        Pattern::PhoneCn,
        Pattern::IdCardCn,
        Pattern::Email,
        Pattern::StudentNo,
        Pattern::PostcodeCn,
    ];

    /// The pattern with this name.
    pub fn parse(name: &str) -> Option<Pattern> {
        Self::ALL.iter().copied().find(|p| p.name() == name)
    }

    /// Its name in definitions.
    pub fn name(self) -> &'static str {
        match self {
            Pattern::Digits => "digits",
            Pattern::Alphanumeric => "alphanumeric",
            Pattern::PhoneCn => "phone_cn",
            Pattern::IdCardCn => "id_card_cn",
            Pattern::Email => "email",
            Pattern::StudentNo => "student_no",
            Pattern::PostcodeCn => "postcode_cn",
        }
    }

    fn describe(self) -> (&'static str, &'static str) {
        match self {
            Pattern::Digits => ("只能填写数字", "digits only"),
            Pattern::Alphanumeric => ("只能填写字母和数字", "letters and digits only"),
            Pattern::PhoneCn => ("请填写 11 位手机号码", "an 11-digit mobile number"),
            Pattern::IdCardCn => ("请填写有效的 18 位居民身份证号码", "a valid 18-character resident ID card number"),
            Pattern::Email => ("请填写有效的电子邮箱地址", "a valid e-mail address"),
            Pattern::StudentNo => ("请填写有效的学号", "a valid student number"),
            Pattern::PostcodeCn => ("请填写 6 位邮政编码", "a 6-digit postcode"),
        }
    }

    /// Whether `s` matches (exactly, no trimming).
    pub fn matches(self, s: &str) -> bool {
        self.normalise(s).is_some()
    }

    /// `s` in its normal form if it matches.
    pub fn normalise(self, s: &str) -> Option<String> {
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        let ok = match self {
            Pattern::Digits => digits(s),
            Pattern::Alphanumeric => !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric()),
            Pattern::PhoneCn => {
                let b = s.as_bytes();
                b.len() == 11 && digits(s) && b[0] == b'1' && (b'3'..=b'9').contains(&b[1])
            }
            Pattern::IdCardCn => return id_card_cn(s),
            Pattern::Email => email(s),
            Pattern::StudentNo => {
                (1..=32).contains(&s.len())
                    && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                    && s.as_bytes()[0].is_ascii_alphanumeric()
            }
            Pattern::PostcodeCn => s.len() == 6 && digits(s),
        };
        ok.then(|| s.to_owned())
    }
}

fn id_card_cn(s: &str) -> Option<String> {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: &[u8; 11] = b"10X98765432";
    let b = s.as_bytes();
    if b.len() != 18 || !b[..17].iter().all(u8::is_ascii_digit) || b[0] == b'0' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r).and_then(|t| t.parse::<u32>().ok());
    let (year, month, day) = (num(6..10)?, num(10..12)?, num(12..14)?);
    if year < 1900 || NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day).is_none() {
        return None;
    }
    let sum: u32 = b[..17].iter().zip(WEIGHTS).map(|(d, w)| u32::from(d - b'0') * w).sum();
    let check = CHECK[(sum % 11) as usize];
    (b[17].to_ascii_uppercase() == check).then(|| format!("{}{}", &s[..17], char::from(check)))
}

fn email(s: &str) -> bool {
    const LOCAL_SPECIAL: &str = "!#$%&'*+/=?^_`{|}~.-";
    let Some((local, domain)) = s.rsplit_once('@') else { return false };
    let local_ok = (1..=64).contains(&local.len())
        && local.chars().all(|c| c.is_ascii_alphanumeric() || LOCAL_SPECIAL.contains(c))
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..");
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|l| {
            (1..=63).contains(&l.len())
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
        && labels.last().is_some_and(|tld| tld.len() >= 2 && tld.bytes().all(|b| b.is_ascii_alphabetic()));
    s.len() <= 254 && local_ok && domain_ok
}

/// Whether a file is accepted by a `file` field's `accept` list: an entry `.pdf` matches the file
/// name's extension, `image/*` any `image/` media type, `application/pdf` that media type; all
/// case-insensitive. An empty list accepts anything.
pub fn file_accepted(accept: &[String], file_name: &str, content_type: &str) -> bool {
    let name = file_name.to_ascii_lowercase();
    let ct = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    accept.is_empty()
        || accept.iter().any(|a| {
            let a = a.trim().to_ascii_lowercase();
            if a.starts_with('.') {
                name.ends_with(&a)
            } else if let Some(major) = a.strip_suffix("/*") {
                ct.strip_prefix(major).is_some_and(|rest| rest.starts_with('/'))
            } else {
                ct == a
            }
        })
}

fn accept_entry_ok(a: &str) -> bool {
    let token = |t: &str| {
        !t.is_empty() && t.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'+' | b'.' | b'_'))
    };
    if let Some(ext) = a.strip_prefix('.') {
        return token(ext);
    }
    match a.split_once('/') {
        Some((major, minor)) => token(major) && (minor == "*" || token(minor)),
        None => false,
    }
}

// ---------------------------------------------------------------------------------------------
// Definition errors

/// Why a form definition is refused. Each names the field by key (`items[].amount` for a column).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FormDefError {
    /// The key is not an identifier usable as `form.<key>`.
    #[error(
        "field `{field}`: invalid key (1–64 ASCII letters, digits and `_`, not starting with a digit, not a CEL keyword)"
    )]
    InvalidKey {
        /// The field.
        field: String,
    },
    /// Two fields (or two columns of a table) share a key.
    #[error("field `{field}`: the key is used more than once")]
    DuplicateKey {
        /// The field.
        field: String,
    },
    /// The label (or help text) is empty or contains control characters.
    #[error("field `{field}`: {what} must not be empty or contain control characters")]
    InvalidText {
        /// The field.
        field: String,
        /// Which text.
        what: &'static str,
    },
    /// Limits that cannot be met or are out of bounds.
    #[error("field `{field}`: {reason}")]
    InvalidLimits {
        /// The field.
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// A `text` pattern not in the [`Pattern`] vocabulary.
    #[error(
        "field `{field}`: unknown pattern `{pattern}` (use digits, alphanumeric, phone_cn, id_card_cn, email, student_no or postcode_cn)"
    )]
    UnknownPattern {
        /// The field.
        field: String,
        /// The pattern given.
        pattern: String,
    },
    /// Options missing, empty or repeated.
    #[error("field `{field}`: {reason}")]
    InvalidOptions {
        /// The field.
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// `visible_if` does not compile.
    #[error("field `{field}`: visible_if: {error}")]
    Condition {
        /// The field.
        field: String,
        /// The compiler's complaint.
        error: ExprError,
    },
    /// `visible_if` reads a form field that is not above this field.
    #[error("field `{field}`: visible_if reads `form.{name}`, which is not a field above this one")]
    ConditionReference {
        /// The field.
        field: String,
        /// The key read.
        name: String,
    },
    /// A table column that is itself a table.
    #[error("field `{field}`: a table cannot contain a table")]
    NestedTable {
        /// The column.
        field: String,
    },
    /// A table without columns.
    #[error("field `{field}`: a table needs at least one column")]
    EmptyTable {
        /// The field.
        field: String,
    },
    /// An `accept` entry that is neither `.ext` nor a media type.
    #[error("field `{field}`: `{entry}` is not a file extension such as .pdf or a media type such as image/*")]
    InvalidAccept {
        /// The field.
        field: String,
        /// The entry.
        entry: String,
    },
}

impl FormDefError {
    /// A stable snake_case code for API responses.
    pub fn code(&self) -> &'static str {
        match self {
            FormDefError::InvalidKey { .. } => "invalid_key",
            FormDefError::DuplicateKey { .. } => "duplicate_key",
            FormDefError::InvalidText { .. } => "invalid_text",
            FormDefError::InvalidLimits { .. } => "invalid_limits",
            FormDefError::UnknownPattern { .. } => "unknown_pattern",
            FormDefError::InvalidOptions { .. } => "invalid_options",
            FormDefError::Condition { .. } => "invalid_condition",
            FormDefError::ConditionReference { .. } => "condition_reference",
            FormDefError::NestedTable { .. } => "nested_table",
            FormDefError::EmptyTable { .. } => "empty_table",
            FormDefError::InvalidAccept { .. } => "invalid_accept",
        }
    }

    /// The field the error is about.
    pub fn field(&self) -> &str {
        match self {
            FormDefError::InvalidKey { field }
            | FormDefError::DuplicateKey { field }
            | FormDefError::InvalidText { field, .. }
            | FormDefError::InvalidLimits { field, .. }
            | FormDefError::UnknownPattern { field, .. }
            | FormDefError::InvalidOptions { field, .. }
            | FormDefError::Condition { field, .. }
            | FormDefError::ConditionReference { field, .. }
            | FormDefError::NestedTable { field }
            | FormDefError::EmptyTable { field }
            | FormDefError::InvalidAccept { field, .. } => field,
        }
    }
}

const CEL_RESERVED: &[&str] = &[
    "as",
    "break",
    "const",
    "continue",
    "else",
    "false",
    "for",
    "function",
    "if",
    "import",
    "in",
    "let",
    "loop",
    "package",
    "namespace",
    "null",
    "return",
    "true",
    "var",
    "void",
    "while",
];

fn key_ok(key: &str) -> bool {
    let b = key.as_bytes();
    !b.is_empty()
        && b.len() <= MAX_KEY_LEN
        && (b[0].is_ascii_alphabetic() || b[0] == b'_')
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
        && !CEL_RESERVED.contains(&key)
}

/// Characters refused in every string: control characters (line breaks and tabs are allowed in a
/// textarea) and the bidirectional embedding, override and isolate characters.
fn forbidden_char(c: char, multiline: bool) -> bool {
    (c.is_control() && !(multiline && (c == '\n' || c == '\t')))
        || ('\u{202A}'..='\u{202E}').contains(&c)
        || ('\u{2066}'..='\u{2069}').contains(&c)
}

fn human_text_ok(s: &str) -> bool {
    !s.trim().is_empty() && !s.chars().any(|c| forbidden_char(c, false))
}

/// Check a form definition: keys (unique, also within a table), labels, limits, patterns, options,
/// accepted file types, conditions (compile, and read only fields above), no tables in tables.
/// Returns every problem found.
pub fn validate_definition(def: &FormDefinition) -> Result<(), Vec<FormDefError>> {
    let mut errors = Vec::new();
    check_fields(&def.fields, None, &[], &mut errors);
    if errors.is_empty() { Ok(()) } else { Err(errors) }
}

/// `table`: the key of the table when checking its columns. `above`: top-level keys a condition may
/// read (for columns: those above the table).
fn check_fields(fields: &[FieldDef], table: Option<&str>, above: &[&str], errors: &mut Vec<FormDefError>) {
    let mut seen = BTreeSet::new();
    for (i, f) in fields.iter().enumerate() {
        let name = match table {
            Some(t) => format!("{t}[].{}", f.key),
            None => f.key.clone(),
        };
        if !key_ok(&f.key) {
            errors.push(FormDefError::InvalidKey { field: name.clone() });
        }
        if !seen.insert(f.key.as_str()) {
            errors.push(FormDefError::DuplicateKey { field: name.clone() });
        }
        if !human_text_ok(&f.label) {
            errors.push(FormDefError::InvalidText { field: name.clone(), what: "label" });
        }
        for (what, text) in [("label_en", &f.label_en), ("help", &f.help), ("help_en", &f.help_en)] {
            if text.as_deref().is_some_and(|t| !human_text_ok(t)) {
                errors.push(FormDefError::InvalidText { field: name.clone(), what });
            }
        }
        if let Some(src) = &f.visible_if {
            match Expr::compile(src) {
                Err(error) => errors.push(FormDefError::Condition { field: name.clone(), error }),
                Ok(_) => {
                    let readable: Vec<&str> = match table {
                        Some(_) => above.to_vec(),
                        None => fields[..i].iter().map(|g| g.key.as_str()).collect(),
                    };
                    for r in form_references(src) {
                        if !readable.contains(&r.as_str()) {
                            errors.push(FormDefError::ConditionReference { field: name.clone(), name: r });
                        }
                    }
                }
            }
        }
        check_kind(f, &name, table, fields, i, errors);
    }
}

fn check_kind(
    f: &FieldDef,
    name: &str,
    table: Option<&str>,
    siblings: &[FieldDef],
    index: usize,
    errors: &mut Vec<FormDefError>,
) {
    let limits = |reason: String| FormDefError::InvalidLimits { field: name.to_owned(), reason };
    match &f.kind {
        FieldKind::Text { min_len, max_len, pattern } => {
            let max = max_len.unwrap_or(TEXT_DEFAULT_MAX_LEN);
            if !(1..=TEXT_MAX_LEN_LIMIT).contains(&max) {
                errors.push(limits(format!("max_len must be between 1 and {TEXT_MAX_LEN_LIMIT}")));
            }
            if min_len.is_some_and(|min| min > max) {
                errors.push(limits("min_len is greater than max_len".into()));
            }
            if let Some(p) = pattern
                && Pattern::parse(p).is_none()
            {
                errors.push(FormDefError::UnknownPattern { field: name.to_owned(), pattern: p.clone() });
            }
        }
        FieldKind::Textarea { max_len } => {
            if !(1..=TEXTAREA_MAX_LEN_LIMIT).contains(&max_len.unwrap_or(TEXTAREA_DEFAULT_MAX_LEN)) {
                errors.push(limits(format!("max_len must be between 1 and {TEXTAREA_MAX_LEN_LIMIT}")));
            }
        }
        FieldKind::Number { min, max, integer } => {
            if let (Some(lo), Some(hi)) = (min, max)
                && lo > hi
            {
                errors.push(limits("min is greater than max".into()));
            }
            if *integer && min.iter().chain(max).any(|x| x.fract() != 0.0) {
                errors.push(limits("an integer field needs whole-number limits".into()));
            }
        }
        FieldKind::Money { min, max } => {
            if let (Some(lo), Some(hi)) = (min, max)
                && lo > hi
            {
                errors.push(limits("min is greater than max".into()));
            }
        }
        FieldKind::Date { min, max } => {
            if let (Some(lo), Some(hi)) = (min, max)
                && lo > hi
            {
                errors.push(limits("min is later than max".into()));
            }
        }
        FieldKind::DateRange { max_days } => {
            if *max_days == Some(0) {
                errors.push(limits("max_days must be at least 1".into()));
            }
        }
        FieldKind::Select { options, .. } | FieldKind::Radio { options } | FieldKind::Checkbox { options } => {
            check_options(options, name, errors);
        }
        FieldKind::User {} | FieldKind::Department { .. } => {}
        FieldKind::Certificate { certificate_type } => {
            if certificate_type.as_deref().is_some_and(|t| !human_text_ok(t)) {
                errors.push(FormDefError::InvalidText { field: name.to_owned(), what: "certificate_type" });
            }
        }
        FieldKind::File { max_files, max_size_mb, accept } => {
            if !(1..=FILE_MAX_FILES_LIMIT).contains(&max_files.unwrap_or(FILE_DEFAULT_MAX_FILES)) {
                errors.push(limits(format!("max_files must be between 1 and {FILE_MAX_FILES_LIMIT}")));
            }
            if !(1..=FILE_MAX_SIZE_MB_LIMIT).contains(&max_size_mb.unwrap_or(FILE_DEFAULT_MAX_SIZE_MB)) {
                errors.push(limits(format!("max_size_mb must be between 1 and {FILE_MAX_SIZE_MB_LIMIT}")));
            }
            for a in accept.iter().filter(|a| !accept_entry_ok(a)) {
                errors.push(FormDefError::InvalidAccept { field: name.to_owned(), entry: a.clone() });
            }
        }
        FieldKind::Table { columns, min_rows, max_rows } => {
            if table.is_some() {
                errors.push(FormDefError::NestedTable { field: name.to_owned() });
                return;
            }
            let max = max_rows.unwrap_or(TABLE_DEFAULT_MAX_ROWS);
            if !(1..=TABLE_MAX_ROWS_LIMIT).contains(&max) {
                errors.push(limits(format!("max_rows must be between 1 and {TABLE_MAX_ROWS_LIMIT}")));
            }
            if min_rows.is_some_and(|min| min > max) {
                errors.push(limits("min_rows is greater than max_rows".into()));
            }
            if columns.is_empty() {
                errors.push(FormDefError::EmptyTable { field: name.to_owned() });
            }
            let above: Vec<&str> = siblings[..index].iter().map(|g| g.key.as_str()).collect();
            check_fields(columns, Some(&f.key), &above, errors);
        }
    }
}

fn check_options(options: &[Choice], name: &str, errors: &mut Vec<FormDefError>) {
    let bad = |reason: String| FormDefError::InvalidOptions { field: name.to_owned(), reason };
    if options.is_empty() {
        errors.push(bad("at least one option is needed".into()));
    }
    let mut seen = BTreeSet::new();
    for o in options {
        if o.value.is_empty() || o.value.trim() != o.value || o.value.chars().any(|c| forbidden_char(c, false)) {
            errors.push(bad(format!(
                "option value `{}` must be non-empty, without surrounding spaces or control characters",
                o.value
            )));
        }
        if !seen.insert(o.value.as_str()) {
            errors.push(bad(format!("option value `{}` is repeated", o.value)));
        }
        if !human_text_ok(&o.label) || o.label_en.as_deref().is_some_and(|l| !human_text_ok(l)) {
            errors.push(bad(format!("option `{}` needs a label without control characters", o.value)));
        }
    }
}

/// The form keys a CEL source reads as `form.key` or `form['key']` (string literals skipped).
fn form_references(src: &str) -> Vec<String> {
    let c: Vec<char> = src.chars().collect();
    let ident_start = |ch: char| ch.is_ascii_alphabetic() || ch == '_';
    let ident_char = |ch: char| ch.is_ascii_alphanumeric() || ch == '_';
    let skip_ws = |mut j: usize| {
        while j < c.len() && c[j].is_whitespace() {
            j += 1;
        }
        j
    };
    let mut refs = Vec::new();
    let mut i = 0;
    while i < c.len() {
        if c[i] == '\'' || c[i] == '"' {
            i = skip_string(&c, i).1;
        } else if ident_start(c[i]) {
            let start = i;
            while i < c.len() && ident_char(c[i]) {
                i += 1;
            }
            let word: String = c[start..i].iter().collect();
            let before = c[..start].iter().rev().find(|ch| !ch.is_whitespace());
            if word == "form" && before != Some(&'.') {
                let j = skip_ws(i);
                if c.get(j) == Some(&'.') {
                    let k = skip_ws(j + 1);
                    let mut e = k;
                    while e < c.len() && ident_char(c[e]) {
                        e += 1;
                    }
                    if e > k {
                        refs.push(c[k..e].iter().collect());
                    }
                } else if c.get(j) == Some(&'[') {
                    let k = skip_ws(j + 1);
                    if c.get(k).is_some_and(|q| *q == '\'' || *q == '"') {
                        refs.push(skip_string(&c, k).0);
                    }
                }
            }
        } else {
            i += 1;
        }
    }
    refs.sort();
    refs.dedup();
    refs
}

/// A string literal starting at `i` (a quote): its content (escapes kept) and the index after it.
fn skip_string(c: &[char], i: usize) -> (String, usize) {
    let q = c[i];
    let triple = c.len() >= i + 3 && c[i + 1] == q && c[i + 2] == q;
    let mut j = if triple { i + 3 } else { i + 1 };
    let start = j;
    while j < c.len() {
        if c[j] == '\\' {
            j += 2;
            continue;
        }
        if c[j] == q && (!triple || (c.len() >= j + 3 && c[j + 1] == q && c[j + 2] == q)) {
            let content = c[start..j].iter().collect();
            return (content, if triple { j + 3 } else { j + 1 });
        }
        j += 1;
    }
    (c[start.min(c.len())..].iter().collect(), c.len())
}

// ---------------------------------------------------------------------------------------------
// Data validation

/// Why a value is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ViolationCode {
    /// A required visible field is empty.
    Required,
    /// A key that is not a field (or column).
    UnknownField,
    /// Wrong JSON type for the field.
    InvalidType,
    /// Fewer characters than `min_len`.
    TooShort,
    /// More characters than `max_len`.
    TooLong,
    /// Does not match the field's pattern.
    PatternMismatch,
    /// Contains control characters.
    ControlCharacter,
    /// Not a whole number.
    NotInteger,
    /// Below `min`.
    TooSmall,
    /// Above `max`.
    TooLarge,
    /// Not an amount in yuan with at most two decimals.
    InvalidMoney,
    /// Not a `YYYY-MM-DD` date.
    InvalidDate,
    /// A date range ending before it starts.
    DateRangeOrder,
    /// A date range longer than `max_days`.
    DateRangeTooLong,
    /// Not one of the options.
    InvalidOption,
    /// The same option or attachment twice.
    DuplicateValue,
    /// More attachments than `max_files`.
    TooManyFiles,
    /// More chosen values than the field allows (departments).
    TooManyValues,
    /// Not a well-formed id.
    InvalidId,
    /// Fewer rows than `min_rows`.
    TooFewRows,
    /// More rows than `max_rows`.
    TooManyRows,
    /// A `form_patch` touched a field the handler may not edit.
    FieldNotEditable,
    /// The definition itself is broken (it should have been refused by [`validate_definition`]).
    InvalidDefinition,
}

/// One refused value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldViolation {
    /// Path of the value: `amount`, `leave.start`, `items[2].amount`; empty for the whole form.
    pub field: String,
    /// Why.
    pub code: ViolationCode,
    /// Message for Chinese users.
    pub message_zh: String,
    /// Message for English users.
    pub message_en: String,
}

struct Checker<'a> {
    applicant: &'a Value,
    violations: Vec<FieldViolation>,
    /// While checking a table row: the message prefixes naming the table and row.
    row: Option<(String, String)>,
}

impl Checker<'_> {
    fn push(&mut self, field: &str, code: ViolationCode, zh: impl Into<String>, en: impl Into<String>) {
        self.violations.push(FieldViolation {
            field: field.to_owned(),
            code,
            message_zh: zh.into(),
            message_en: en.into(),
        });
    }

    /// Like `push`, with the field's label (and the table's and row's) in front of the message.
    fn refuse(&mut self, path: &str, f: &FieldDef, code: ViolationCode, zh: impl fmt::Display, en: impl fmt::Display) {
        let en_label = f.label_en.as_deref().unwrap_or(&f.label);
        let (row_zh, row_en) = self.row.clone().unwrap_or_default();
        self.push(path, code, format!("{row_zh}「{}」{zh}", f.label), format!("{row_en}{en_label}: {en}"));
    }

    fn unknown(&mut self, path: &str) {
        self.push(path, ViolationCode::UnknownField, "表单中没有此项", "no such field in this form");
    }

    fn visible(&mut self, f: &FieldDef, path: &str, form: &Value) -> bool {
        let Some(src) = &f.visible_if else { return true };
        match Expr::compile(src) {
            Ok(e) => e.eval_bool(form, self.applicant).unwrap_or(false),
            Err(err) => {
                self.refuse(
                    path,
                    f,
                    ViolationCode::InvalidDefinition,
                    "的显示条件有误，请联系管理员",
                    format_args!("the visibility condition is broken ({err}); please tell the administrator"),
                );
                false
            }
        }
    }

    /// Check the visible fields of `fields` in `data` into a normalised object. `form` is what
    /// conditions see: for the top level, the normalised object being built (`None`); for table
    /// rows, the top-level fields above the table.
    fn fields(
        &mut self,
        fields: &[FieldDef],
        data: &Map<String, Value>,
        prefix: &str,
        outer: Option<(&Value, &[bool])>,
    ) -> Map<String, Value> {
        for k in data.keys().filter(|k| !fields.iter().any(|f| &f.key == *k)) {
            self.unknown(&format!("{prefix}{k}"));
        }
        let mut out = Value::Object(Map::new());
        for (i, f) in fields.iter().enumerate() {
            let path = format!("{prefix}{}", f.key);
            let shown = match outer {
                Some((_, shown)) => shown.get(i).copied().unwrap_or(false),
                None => self.visible(f, &path, &out),
            };
            if !shown {
                continue;
            }
            let form = match outer {
                Some((form, _)) => form,
                None => &out,
            };
            if let Some(v) = self.field(f, data.get(&f.key), &path, form)
                && let Value::Object(m) = &mut out
            {
                m.insert(f.key.clone(), v);
            }
        }
        match out {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    /// A visible field's value, normalised; `None` when empty or refused.
    fn field(&mut self, f: &FieldDef, v: Option<&Value>, path: &str, form: &Value) -> Option<Value> {
        let v = v.filter(|v| !is_empty(v));
        let Some(v) = v else {
            if f.required {
                self.refuse(path, f, ViolationCode::Required, "为必填项", "required");
            }
            return None;
        };
        match &f.kind {
            FieldKind::Text { min_len, max_len, pattern } => {
                let s = self.string(f, v, path, false)?;
                let pattern = match pattern.as_deref().map(|p| (p, Pattern::parse(p))) {
                    None => None,
                    Some((_, Some(p))) => Some(p),
                    Some((p, None)) => {
                        self.refuse(
                            path,
                            f,
                            ViolationCode::InvalidDefinition,
                            format_args!("的格式 `{p}` 未定义，请联系管理员"),
                            format_args!("unknown pattern `{p}`; please tell the administrator"),
                        );
                        return None;
                    }
                };
                let s = match pattern {
                    None => s,
                    Some(p) => match p.normalise(&s) {
                        Some(n) => n,
                        None => {
                            let (zh, en) = p.describe();
                            self.refuse(path, f, ViolationCode::PatternMismatch, format_args!("格式不正确：{zh}"), en);
                            return None;
                        }
                    },
                };
                self.length(f, &s, path, *min_len, max_len.unwrap_or(TEXT_DEFAULT_MAX_LEN))?;
                Some(Value::String(s))
            }
            FieldKind::Textarea { max_len } => {
                let s = self.string(f, v, path, true)?;
                self.length(f, &s, path, None, max_len.unwrap_or(TEXTAREA_DEFAULT_MAX_LEN))?;
                Some(Value::String(s))
            }
            FieldKind::Number { min, max, integer } => self.number(f, v, path, *min, *max, *integer),
            FieldKind::Money { min, max } => {
                let Some(a) = Amount::from_json(v) else {
                    self.refuse(
                        path,
                        f,
                        ViolationCode::InvalidMoney,
                        "请填写金额（元），最多两位小数",
                        "enter an amount in yuan with at most two decimals",
                    );
                    return None;
                };
                if let Some(lo) = min.filter(|lo| a < *lo) {
                    self.refuse(
                        path,
                        f,
                        ViolationCode::TooSmall,
                        format_args!("不能少于 {lo} 元"),
                        format_args!("at least {lo} yuan"),
                    );
                    return None;
                }
                if let Some(hi) = max.filter(|hi| a > *hi) {
                    self.refuse(
                        path,
                        f,
                        ViolationCode::TooLarge,
                        format_args!("不能超过 {hi} 元"),
                        format_args!("at most {hi} yuan"),
                    );
                    return None;
                }
                Some(Value::String(a.to_string()))
            }
            FieldKind::Date { min, max } => {
                let d = self.date(f, v, path)?;
                if let Some(lo) = min.filter(|lo| d < *lo) {
                    self.refuse(
                        path,
                        f,
                        ViolationCode::TooSmall,
                        format_args!("不能早于 {lo}"),
                        format_args!("not before {lo}"),
                    );
                    return None;
                }
                if let Some(hi) = max.filter(|hi| d > *hi) {
                    self.refuse(
                        path,
                        f,
                        ViolationCode::TooLarge,
                        format_args!("不能晚于 {hi}"),
                        format_args!("not after {hi}"),
                    );
                    return None;
                }
                Some(Value::String(d.to_string()))
            }
            FieldKind::DateRange { max_days } => self.date_range(f, v, path, *max_days),
            FieldKind::Select { options, multiple: false } | FieldKind::Radio { options } => {
                let s = self.string(f, v, path, false)?;
                if !options.iter().any(|o| o.value == s) {
                    self.refuse(path, f, ViolationCode::InvalidOption, "的选项无效", "not one of the options");
                    return None;
                }
                Some(Value::String(s))
            }
            FieldKind::Select { options, multiple: true } | FieldKind::Checkbox { options } => {
                self.choices(f, v, path, options)
            }
            FieldKind::Department { multiple: true } => self.departments(f, v, path),
            FieldKind::User {} | FieldKind::Department { multiple: false } | FieldKind::Certificate { .. } => {
                let s = self.string(f, v, path, false)?;
                self.id(f, &s, path)?;
                Some(Value::String(s))
            }
            FieldKind::File { max_files, .. } => self.files(f, v, path, max_files.unwrap_or(FILE_DEFAULT_MAX_FILES)),
            FieldKind::Table { columns, min_rows, max_rows } => {
                self.table(f, v, path, form, columns, *min_rows, max_rows.unwrap_or(TABLE_DEFAULT_MAX_ROWS))
            }
        }
    }

    /// A trimmed string without forbidden characters.
    fn string(&mut self, f: &FieldDef, v: &Value, path: &str, multiline: bool) -> Option<String> {
        let Some(s) = v.as_str() else {
            self.refuse(path, f, ViolationCode::InvalidType, "应为文本", "must be text");
            return None;
        };
        let s = if multiline { s.replace("\r\n", "\n").replace('\r', "\n") } else { s.to_owned() };
        let s = s.trim();
        if s.chars().any(|c| forbidden_char(c, multiline)) {
            self.refuse(
                path,
                f,
                ViolationCode::ControlCharacter,
                "含有不允许的控制字符",
                "contains control characters",
            );
            return None;
        }
        Some(s.to_owned())
    }

    fn length(&mut self, f: &FieldDef, s: &str, path: &str, min: Option<u32>, max: u32) -> Option<()> {
        let n = s.chars().count();
        if let Some(min) = min.filter(|m| n < *m as usize) {
            self.refuse(
                path,
                f,
                ViolationCode::TooShort,
                format_args!("至少需要 {min} 个字"),
                format_args!("at least {min} characters"),
            );
            return None;
        }
        if n > max as usize {
            self.refuse(
                path,
                f,
                ViolationCode::TooLong,
                format_args!("最多 {max} 个字（现有 {n} 个）"),
                format_args!("at most {max} characters (has {n})"),
            );
            return None;
        }
        Some(())
    }

    fn number(
        &mut self,
        f: &FieldDef,
        v: &Value,
        path: &str,
        min: Option<f64>,
        max: Option<f64>,
        integer: bool,
    ) -> Option<Value> {
        let Some(n) = v.as_number() else {
            self.refuse(path, f, ViolationCode::InvalidType, "应为数字", "must be a number");
            return None;
        };
        let x = n.as_f64()?;
        let out = if integer {
            // Whole numbers that a double holds exactly (|x| ≤ 2^53).
            const EXACT: f64 = 9_007_199_254_740_992.0;
            if x.fract() != 0.0 {
                self.refuse(path, f, ViolationCode::NotInteger, "应为整数", "must be a whole number");
                return None;
            }
            if x.abs() > EXACT {
                self.refuse(path, f, ViolationCode::TooLarge, "数值过大", "too large");
                return None;
            }
            Value::from(x as i64)
        } else {
            v.clone()
        };
        if let Some(lo) = min.filter(|lo| x < *lo) {
            self.refuse(path, f, ViolationCode::TooSmall, format_args!("不能小于 {lo}"), format_args!("at least {lo}"));
            return None;
        }
        if let Some(hi) = max.filter(|hi| x > *hi) {
            self.refuse(path, f, ViolationCode::TooLarge, format_args!("不能大于 {hi}"), format_args!("at most {hi}"));
            return None;
        }
        Some(out)
    }

    fn date(&mut self, f: &FieldDef, v: &Value, path: &str) -> Option<NaiveDate> {
        let d = v.as_str().and_then(|s| parse_date(s.trim()));
        if d.is_none() {
            self.refuse(path, f, ViolationCode::InvalidDate, "应为日期（YYYY-MM-DD）", "must be a date (YYYY-MM-DD)");
        }
        d
    }

    fn date_range(&mut self, f: &FieldDef, v: &Value, path: &str, max_days: Option<u32>) -> Option<Value> {
        let Some(obj) = v.as_object() else {
            self.refuse(path, f, ViolationCode::InvalidType, "应为起止日期", "must be a start and an end date");
            return None;
        };
        for k in obj.keys().filter(|k| *k != "start" && *k != "end") {
            self.unknown(&format!("{path}.{k}"));
        }
        let mut end_points = [None, None];
        for (slot, k) in end_points.iter_mut().zip(["start", "end"]) {
            let p = format!("{path}.{k}");
            match obj.get(k).filter(|v| !is_empty(v)) {
                None => {
                    self.refuse(&p, f, ViolationCode::Required, "缺少起止日期", "needs both a start and an end date")
                }
                Some(d) => *slot = self.date(f, d, &p),
            }
        }
        let [Some(start), Some(end)] = end_points else { return None };
        if start > end {
            self.refuse(path, f, ViolationCode::DateRangeOrder, "的结束日期早于开始日期", "ends before it starts");
            return None;
        }
        let days = (end - start).num_days() + 1;
        if let Some(max) = max_days.filter(|m| days > i64::from(*m)) {
            self.refuse(
                path,
                f,
                ViolationCode::DateRangeTooLong,
                format_args!("最长 {max} 天（现为 {days} 天）"),
                format_args!("at most {max} days (is {days})"),
            );
            return None;
        }
        let mut m = Map::new();
        m.insert("start".into(), Value::String(start.to_string()));
        m.insert("end".into(), Value::String(end.to_string()));
        Some(Value::Object(m))
    }

    fn string_array(&mut self, f: &FieldDef, v: &Value, path: &str) -> Option<Vec<String>> {
        let items = v.as_array().and_then(|a| a.iter().map(|x| x.as_str().map(|s| s.trim().to_owned())).collect());
        if items.is_none() {
            self.refuse(path, f, ViolationCode::InvalidType, "应为列表", "must be a list");
        }
        items
    }

    fn choices(&mut self, f: &FieldDef, v: &Value, path: &str, options: &[Choice]) -> Option<Value> {
        let items = self.string_array(f, v, path)?;
        let mut chosen = BTreeSet::new();
        for s in &items {
            if !options.iter().any(|o| &o.value == s) {
                self.refuse(
                    path,
                    f,
                    ViolationCode::InvalidOption,
                    format_args!("的选项「{s}」无效"),
                    format_args!("`{s}` is not one of the options"),
                );
                return None;
            }
            if !chosen.insert(s.as_str()) {
                self.refuse(
                    path,
                    f,
                    ViolationCode::DuplicateValue,
                    "的选项重复",
                    format_args!("`{s}` is chosen twice"),
                );
                return None;
            }
        }
        let ordered =
            options.iter().filter(|o| chosen.contains(o.value.as_str())).map(|o| Value::String(o.value.clone()));
        Some(Value::Array(ordered.collect()))
    }

    fn id(&mut self, f: &FieldDef, s: &str, path: &str) -> Option<()> {
        let ok = (1..=MAX_ID_LEN).contains(&s.len())
            && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !ok {
            self.refuse(path, f, ViolationCode::InvalidId, "的编号无效", "not a valid id");
        }
        ok.then_some(())
    }

    fn departments(&mut self, f: &FieldDef, v: &Value, path: &str) -> Option<Value> {
        let ids = self.string_array(f, v, path)?;
        if ids.len() > DEPARTMENTS_MAX {
            self.refuse(
                path,
                f,
                ViolationCode::TooManyValues,
                format_args!("最多选择 {DEPARTMENTS_MAX} 个部门"),
                format_args!("at most {DEPARTMENTS_MAX} departments"),
            );
            return None;
        }
        let mut seen = BTreeSet::new();
        for id in &ids {
            self.id(f, id, path)?;
            if !seen.insert(id.as_str()) {
                self.refuse(
                    path,
                    f,
                    ViolationCode::DuplicateValue,
                    "的部门重复",
                    "the same department is chosen twice",
                );
                return None;
            }
        }
        Some(Value::Array(ids.into_iter().map(Value::String).collect()))
    }

    fn files(&mut self, f: &FieldDef, v: &Value, path: &str, max_files: u32) -> Option<Value> {
        let ids = self.string_array(f, v, path)?;
        if ids.len() > max_files as usize {
            self.refuse(
                path,
                f,
                ViolationCode::TooManyFiles,
                format_args!("最多上传 {max_files} 个文件"),
                format_args!("at most {max_files} files"),
            );
            return None;
        }
        let mut seen = BTreeSet::new();
        for id in &ids {
            self.id(f, id, path)?;
            if !seen.insert(id.as_str()) {
                self.refuse(path, f, ViolationCode::DuplicateValue, "的文件重复", "the same file is attached twice");
                return None;
            }
        }
        Some(Value::Array(ids.into_iter().map(Value::String).collect()))
    }

    #[allow(clippy::too_many_arguments)]
    fn table(
        &mut self,
        f: &FieldDef,
        v: &Value,
        path: &str,
        form: &Value,
        columns: &[FieldDef],
        min_rows: Option<u32>,
        max_rows: u32,
    ) -> Option<Value> {
        let Some(rows) = v.as_array() else {
            self.refuse(path, f, ViolationCode::InvalidType, "应为表格行的列表", "must be a list of rows");
            return None;
        };
        if let Some(min) = min_rows.filter(|m| rows.len() < *m as usize) {
            self.refuse(
                path,
                f,
                ViolationCode::TooFewRows,
                format_args!("至少需要 {min} 行"),
                format_args!("at least {min} rows"),
            );
            return None;
        }
        if rows.len() > max_rows as usize {
            self.refuse(
                path,
                f,
                ViolationCode::TooManyRows,
                format_args!("最多 {max_rows} 行"),
                format_args!("at most {max_rows} rows"),
            );
            return None;
        }
        if let Some(c) = columns.iter().find(|c| matches!(c.kind, FieldKind::Table { .. })) {
            self.refuse(
                path,
                f,
                ViolationCode::InvalidDefinition,
                format_args!("的列「{}」不能是表格，请联系管理员", c.label),
                "a table cannot contain a table; please tell the administrator",
            );
            return None;
        }
        let shown: Vec<bool> = columns.iter().map(|c| self.visible(c, &format!("{path}[].{}", c.key), form)).collect();
        let before = self.violations.len();
        let mut out = Vec::with_capacity(rows.len());
        for (i, row) in rows.iter().enumerate() {
            let prefix = format!("{path}[{i}].");
            match row.as_object() {
                Some(cells) => {
                    let en_label = f.label_en.as_deref().unwrap_or(&f.label);
                    self.row = Some((format!("「{}」第 {} 行", f.label, i + 1), format!("{en_label} row {}, ", i + 1)));
                    let cells = self.fields(columns, cells, &prefix, Some((form, &shown)));
                    self.row = None;
                    out.push(Value::Object(cells));
                }
                None => self.push(
                    &format!("{path}[{i}]"),
                    ViolationCode::InvalidType,
                    format!("「{}」第 {} 行格式不正确", f.label, i + 1),
                    format!("{}: row {} must be an object", f.label_en.as_deref().unwrap_or(&f.label), i + 1),
                ),
            }
        }
        (self.violations.len() == before).then_some(Value::Array(out))
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(m) => m.values().all(is_empty),
        Value::Bool(_) | Value::Number(_) => false,
    }
}

/// A `YYYY-MM-DD` date, exactly ten characters.
fn parse_date(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    let shape = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter().enumerate().all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shape {
        return None;
    }
    NaiveDate::from_ymd_opt(s[..4].parse().ok()?, s[5..7].parse().ok()?, s[8..].parse().ok()?)
}

/// Validate submitted form data against a definition, with `applicant` for visibility conditions.
/// Returns the normalised data (see the module documentation) or every violation found.
pub fn validate_data(def: &FormDefinition, data: &Value, applicant: &Value) -> Result<Value, Vec<FieldViolation>> {
    let mut checker = Checker { applicant, violations: Vec::new(), row: None };
    let Some(obj) = data.as_object() else {
        checker.push("", ViolationCode::InvalidType, "表单数据格式不正确", "form data must be an object");
        return Err(checker.violations);
    };
    let out = checker.fields(&def.fields, obj, "", None);
    if checker.violations.is_empty() { Ok(Value::Object(out)) } else { Err(checker.violations) }
}

/// The fields `access` marks [`FieldAccess::Required`] that are shown (their `visible_if` holds)
/// and still empty in the normalised `data`: each one refuses the approval with `required`.
pub fn missing_required(
    def: &FormDefinition,
    access: &BTreeMap<String, FieldAccess>,
    data: &Value,
    applicant: &Value,
) -> Vec<FieldViolation> {
    let keys: BTreeSet<&str> =
        access.iter().filter(|(_, a)| **a == FieldAccess::Required).map(|(k, _)| k.as_str()).collect();
    if keys.is_empty() {
        return Vec::new();
    }
    let mut strict = def.clone();
    for f in strict.fields.iter_mut().filter(|f| keys.contains(f.key.as_str())) {
        f.required = true;
    }
    match validate_data(&strict, data, applicant) {
        Ok(_) => Vec::new(),
        Err(v) => {
            v.into_iter().filter(|x| x.code == ViolationCode::Required && keys.contains(x.field.as_str())).collect()
        }
    }
}

/// Apply a handler's `form_patch` to the current (normalised) data. Every key of `patch` must be a
/// top-level field whose access [`FieldAccess::is_editable`] (a field missing from `access` is
/// read-only); otherwise each offending key is refused with `field_not_editable` (or
/// `unknown_field`) and nothing is applied. A `null` value clears the field; a table is replaced
/// whole. The merged data is then validated with [`validate_data`] and returned normalised.
pub fn check_patch(
    def: &FormDefinition,
    access: &BTreeMap<String, FieldAccess>,
    current: &Value,
    patch: &Map<String, Value>,
    applicant: &Value,
) -> Result<Value, Vec<FieldViolation>> {
    let mut checker = Checker { applicant, violations: Vec::new(), row: None };
    for key in patch.keys() {
        match def.field(key) {
            None => checker.unknown(key),
            Some(f) if !access.get(key).is_some_and(|a| a.is_editable()) => checker.refuse(
                key,
                f,
                ViolationCode::FieldNotEditable,
                "在此环节不可修改",
                "may not be changed at this step",
            ),
            Some(_) => {}
        }
    }
    if !checker.violations.is_empty() {
        return Err(checker.violations);
    }
    let mut merged = match current {
        Value::Object(m) => m.clone(),
        Value::Null => Map::new(),
        _ => {
            checker.push("", ViolationCode::InvalidType, "表单数据格式不正确", "form data must be an object");
            return Err(checker.violations);
        }
    };
    for (k, v) in patch {
        if v.is_null() {
            merged.remove(k);
        } else {
            merged.insert(k.clone(), v.clone());
        }
    }
    validate_data(def, &Value::Object(merged), applicant)
}

/// The form data as a handler sees it: fields whose access is [`FieldAccess::Hidden`] removed (a
/// field missing from `access` is read-only, so shown), and keys that are not fields of `def`
/// removed too. Data that is not an object is returned unchanged.
pub fn redact(def: &FormDefinition, access: &BTreeMap<String, FieldAccess>, data: &Value) -> Value {
    match data {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| def.field(k).is_some() && access.get(*k) != Some(&FieldAccess::Hidden))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// An id in normalised form data that the server must check exists and may be used: a user, a
/// department, a certificate (of `certificate_type`) or an attachment (within the field's limits).
#[derive(Debug, Clone, PartialEq)]
pub struct Reference<'a> {
    /// Path of the value, as in [`FieldViolation::field`].
    pub path: String,
    /// The id.
    pub id: String,
    /// The field (or column) holding it; its kind says what the id is and carries the limits.
    pub field: &'a FieldDef,
}

/// Every user, department, certificate and attachment id in normalised data, in field order, so
/// the server can check each exists and belongs to the applicant.
pub fn references<'a>(def: &'a FormDefinition, data: &Value) -> Vec<Reference<'a>> {
    let mut out = Vec::new();
    collect_refs(&def.fields, data, "", &mut out);
    out
}

fn collect_refs<'a>(fields: &'a [FieldDef], data: &Value, prefix: &str, out: &mut Vec<Reference<'a>>) {
    for f in fields {
        let Some(v) = data.get(&f.key) else { continue };
        let path = format!("{prefix}{}", f.key);
        match &f.kind {
            FieldKind::User {} | FieldKind::Department { multiple: false } | FieldKind::Certificate { .. } => {
                if let Some(id) = v.as_str() {
                    out.push(Reference { path, id: id.to_owned(), field: f });
                }
            }
            FieldKind::Department { multiple: true } | FieldKind::File { .. } => {
                for id in v.as_array().into_iter().flatten().filter_map(Value::as_str) {
                    out.push(Reference { path: path.clone(), id: id.to_owned(), field: f });
                }
            }
            FieldKind::Table { columns, .. } => {
                for (i, row) in v.as_array().into_iter().flatten().enumerate() {
                    collect_refs(columns, row, &format!("{path}[{i}]."), out);
                }
            }
            _ => {}
        }
    }
}
