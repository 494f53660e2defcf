//! Checking form definitions when they are saved.

use serde_json::{Value, json};
use tongban_engine::form::{FieldKind, FormDefError, FormDefinition, validate_definition};

fn def(fields: Value) -> FormDefinition {
    serde_json::from_value(json!({ "fields": fields })).expect("definition")
}

fn text(key: &str) -> Value {
    json!({ "key": key, "label": "文本", "kind": { "type": "text" } })
}

/// The errors for a definition, as (debug variant name, field).
fn errors(fields: Value) -> Vec<(String, String)> {
    validate_definition(&def(fields))
        .expect_err("should be refused")
        .iter()
        .map(|e| {
            let name = format!("{e:?}");
            (name[..name.find(' ').unwrap_or(name.len())].to_owned(), e.field().to_owned())
        })
        .collect()
}

fn one(kind: Value) -> Vec<(String, String)> {
    errors(json!([{ "key": "f", "label": "字段", "kind": kind }]))
}

fn e(name: &str, field: &str) -> (String, String) {
    (name.to_owned(), field.to_owned())
}

/// A definition using every kind, as the demo's reimbursement form might.
fn full() -> Value {
    json!([
        { "key": "applicant_phone", "label": "联系电话", "label_en": "Phone", "kind": { "type": "text", "pattern": "phone_cn" }, "required": true },
        { "key": "reason", "label": "事由", "kind": { "type": "textarea", "max_len": 500 }, "help": "请写明事由" },
        { "key": "days", "label": "天数", "kind": { "type": "number", "min": 1, "max": 30, "integer": true } },
        { "key": "total", "label": "金额", "kind": { "type": "money", "min": "0.01", "max": "50000" } },
        { "key": "date", "label": "日期", "kind": { "type": "date", "min": "2025-01-01" } },
        { "key": "period", "label": "起止日期", "kind": { "type": "date_range", "max_days": 30 } },
        { "key": "kind", "label": "类别", "kind": { "type": "select", "options": [ { "value": "travel", "label": "差旅" }, { "value": "other", "label": "其他" } ] } },
        { "key": "urgent", "label": "加急", "kind": { "type": "radio", "options": [ { "value": "yes", "label": "是" }, { "value": "no", "label": "否" } ] } },
        { "key": "agree", "label": "承诺", "kind": { "type": "checkbox", "options": [ { "value": "agree", "label": "我承诺所填属实" } ] }, "required": true },
        { "key": "leader", "label": "审批人", "kind": { "type": "user" } },
        { "key": "dept", "label": "部门", "kind": { "type": "department" } },
        { "key": "proof", "label": "在读证明", "kind": { "type": "certificate", "certificate_type": "在读证明" } },
        { "key": "approval_doc", "label": "审批件", "kind": { "type": "file", "max_files": 3, "accept": [".pdf", "image/*", "application/msword"] },
          "visible_if": "has(form.total) && double(form.total) > 5000.0" },
        { "key": "items", "label": "明细", "kind": { "type": "table", "min_rows": 1, "max_rows": 20, "columns": [
            { "key": "item", "label": "项目", "kind": { "type": "text" }, "required": true },
            { "key": "amount", "label": "金额", "kind": { "type": "money" } },
            { "key": "ticket_no", "label": "车次", "kind": { "type": "text" }, "visible_if": "has(form.kind) && form.kind == 'travel'" }
        ] } }
    ])
}

#[test]
fn a_full_definition_is_accepted_and_round_trips() {
    let d = def(full());
    assert_eq!(validate_definition(&d), Ok(()));
    let back: FormDefinition = serde_json::from_value(serde_json::to_value(&d).expect("json")).expect("parse");
    assert_eq!(back, d);
    assert!(matches!(d.field("total").map(|f| &f.kind), Some(FieldKind::Money { .. })));
    assert!(d.field("nope").is_none());
    // Optional settings are left out when written back.
    assert_eq!(
        serde_json::to_value(&d.fields[9]).expect("json"),
        json!({ "key": "leader", "label": "审批人", "kind": { "type": "user" }, "required": false })
    );
}

#[test]
fn serde_refuses_typos_and_bad_amounts() {
    let bad = [
        json!({ "fields": [ { "key": "f", "label": "x", "kind": { "type": "text" }, "requried": true } ] }),
        json!({ "fields": [ { "key": "f", "label": "x", "kind": { "type": "text", "maxlen": 3 } } ] }),
        json!({ "fields": [ { "key": "f", "label": "x", "kind": { "type": "user", "multiple": true } } ] }),
        json!({ "fields": [ { "key": "f", "label": "x", "kind": { "type": "slider" } } ] }),
        json!({ "fields": [ { "key": "f", "label": "x", "kind": { "type": "money", "max": "12.345" } } ] }),
        json!({ "fields": [ { "key": "f", "label": "x", "kind": { "type": "date", "min": "2025-02-30" } } ] }),
        json!({ "fields": [], "title": "x" }),
    ];
    for b in bad {
        assert!(serde_json::from_value::<FormDefinition>(b.clone()).is_err(), "{b}");
    }
}

#[test]
fn keys_must_be_identifiers_and_unique() {
    for key in ["", "1abc", "a-b", "申请人", "in", "true", &"k".repeat(65)] {
        assert_eq!(errors(json!([text(key)])), vec![e("InvalidKey", key)], "{key:?}");
    }
    assert_eq!(validate_definition(&def(json!([text("_a1"), text("A_b")]))), Ok(()));
    assert_eq!(errors(json!([text("a"), text("b"), text("a")])), vec![e("DuplicateKey", "a")]);
    // Inside a table; a column may share a key with a top-level field.
    let table = json!([text("amount"), { "key": "items", "label": "明细", "kind": { "type": "table", "columns": [text("amount"), text("amount")] } }]);
    assert_eq!(errors(table), vec![e("DuplicateKey", "items[].amount")]);
}

#[test]
fn labels_and_help_must_be_clean() {
    let f =
        |label: &str, help: Value| json!([{ "key": "f", "label": label, "kind": { "type": "text" }, "help": help }]);
    assert_eq!(errors(f(" ", Value::Null)), vec![e("InvalidText", "f")]);
    assert_eq!(errors(f("a\u{0}", Value::Null)), vec![e("InvalidText", "f")]);
    assert_eq!(errors(f("好", json!("x\u{1b}[31m"))), vec![e("InvalidText", "f")]);
}

#[test]
fn limits_must_be_sane() {
    let limits = |kind: Value| one(kind);
    let bad = e("InvalidLimits", "f");
    for kind in [
        json!({ "type": "text", "min_len": 5, "max_len": 4 }),
        json!({ "type": "text", "max_len": 0 }),
        json!({ "type": "text", "max_len": 2001 }),
        json!({ "type": "text", "min_len": 201 }),
        json!({ "type": "textarea", "max_len": 0 }),
        json!({ "type": "textarea", "max_len": 50001 }),
        json!({ "type": "number", "min": 2, "max": 1 }),
        json!({ "type": "number", "integer": true, "min": 0.5 }),
        json!({ "type": "money", "min": "10", "max": "9.99" }),
        json!({ "type": "date", "min": "2026-01-02", "max": "2026-01-01" }),
        json!({ "type": "date_range", "max_days": 0 }),
        json!({ "type": "file", "max_files": 0 }),
        json!({ "type": "file", "max_files": 51 }),
        json!({ "type": "file", "max_size_mb": 0 }),
        json!({ "type": "table", "min_rows": 3, "max_rows": 2, "columns": [text("x")] }),
        json!({ "type": "table", "max_rows": 1001, "columns": [text("x")] }),
    ] {
        assert_eq!(limits(kind.clone()), vec![bad.clone()], "{kind}");
    }
    for kind in [
        json!({ "type": "text", "min_len": 4, "max_len": 4 }),
        json!({ "type": "number", "min": 1, "max": 1 }),
        json!({ "type": "money", "min": "0", "max": "0" }),
        json!({ "type": "date_range", "max_days": 1 }),
    ] {
        assert_eq!(validate_definition(&def(json!([{ "key": "f", "label": "字段", "kind": kind }]))), Ok(()));
    }
}

#[test]
fn patterns_options_and_file_types() {
    assert_eq!(one(json!({ "type": "text", "pattern": "^[0-9]+$" })), vec![e("UnknownPattern", "f")]);
    let opt = |v: &str, l: &str| json!({ "value": v, "label": l });
    for kind in ["select", "radio", "checkbox"] {
        assert_eq!(one(json!({ "type": kind, "options": [] })), vec![e("InvalidOptions", "f")]);
        assert_eq!(
            one(json!({ "type": kind, "options": [opt("a", "甲"), opt("a", "乙")] })),
            vec![e("InvalidOptions", "f")]
        );
        assert_eq!(one(json!({ "type": kind, "options": [opt("", "空")] })), vec![e("InvalidOptions", "f")]);
        assert_eq!(one(json!({ "type": kind, "options": [opt(" a", "甲")] })), vec![e("InvalidOptions", "f")]);
        assert_eq!(one(json!({ "type": kind, "options": [opt("a", "")] })), vec![e("InvalidOptions", "f")]);
    }
    assert_eq!(
        one(json!({ "type": "file", "accept": ["pdf", "image/", ".pdf", "image/*", "application/vnd.ms-excel"] })),
        vec![e("InvalidAccept", "f"), e("InvalidAccept", "f")]
    );
}

#[test]
fn tables_need_columns_and_cannot_nest() {
    assert_eq!(one(json!({ "type": "table", "columns": [] })), vec![e("EmptyTable", "f")]);
    let nested = json!({ "type": "table", "columns": [
        { "key": "sub", "label": "子表", "kind": { "type": "table", "columns": [text("x")] } }
    ] });
    assert_eq!(one(nested), vec![e("NestedTable", "f[].sub")]);
}

#[test]
fn conditions_compile_and_read_only_fields_above() {
    let cond = |src: &str| json!({ "key": "g", "label": "条件", "kind": { "type": "text" }, "visible_if": src });
    let errs = validate_definition(&def(json!([text("a"), cond("form.a ==")]))).expect_err("syntax");
    assert!(matches!(&errs[0], FormDefError::Condition { field, .. } if field == "g"));
    assert!(errs[0].to_string().starts_with("field `g`: visible_if: syntax error"));
    assert_eq!(errs[0].code(), "invalid_condition");
    assert_eq!(errors(json!([text("a"), cond("secret.x == 1")])), vec![e("Condition", "g")]);
    // Fields below, itself, and unknown fields cannot be read.
    assert_eq!(errors(json!([cond("form.b == 'x'"), text("b")])), vec![e("ConditionReference", "g")]);
    assert_eq!(errors(json!([cond("has(form.g)")])), vec![e("ConditionReference", "g")]);
    assert_eq!(
        errors(json!([text("a"), cond("form['zz'] == 'x' || form.a == 'y'")])),
        vec![e("ConditionReference", "g")]
    );
    let err = validate_definition(&def(json!([cond("form . later > 1")]))).expect_err("refused");
    assert_eq!(err[0].to_string(), "field `g`: visible_if reads `form.later`, which is not a field above this one");
    assert_eq!(err[0].code(), "condition_reference");
    // Fine: fields above, applicant attributes, and `form.` inside string literals.
    for src in [
        "form.a == 'x'",
        "has(form.a) && applicant.kind == 'student'",
        "form.a == \"form.nothing\" || form.a == '''form.nope'''",
        "form['a'] != 'x'",
        "size(form.a) > 2",
    ] {
        assert_eq!(validate_definition(&def(json!([text("a"), cond(src)]))), Ok(()), "{src}");
    }
    // Columns read fields above the table, not other columns.
    let table = |src: &str| json!([text("kind"), { "key": "items", "label": "明细", "kind": { "type": "table", "columns": [text("c1"), cond(src)] } }]);
    assert_eq!(validate_definition(&def(table("form.kind == 'travel'"))), Ok(()));
    assert_eq!(errors(table("form.c1 == 'x'")), vec![e("ConditionReference", "items[].g")]);
}
