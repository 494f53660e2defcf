//! Visibility conditions, handler patches under field permissions, redaction and references.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};
use tongban_engine::form::{
    FieldAccess as A, FieldKind, FormDefinition, ViolationCode as C, check_patch, file_accepted, redact, references,
    validate_data, validate_definition,
};

fn def(fields: Value) -> FormDefinition {
    let d: FormDefinition = serde_json::from_value(json!({ "fields": fields })).expect("definition");
    assert_eq!(validate_definition(&d), Ok(()));
    d
}

fn codes(r: Result<Value, Vec<tongban_engine::form::FieldViolation>>) -> Vec<(String, C)> {
    r.expect_err("refused").into_iter().map(|v| (v.field, v.code)).collect()
}

fn leave_form() -> FormDefinition {
    def(json!([
        { "key": "leave_type", "label": "请假类型", "kind": { "type": "radio", "options": [
            { "value": "sick", "label": "病假" }, { "value": "personal", "label": "事假" } ] }, "required": true },
        { "key": "medical_proof", "label": "病历", "kind": { "type": "file" }, "required": true,
          "visible_if": "form.leave_type == 'sick'" },
        { "key": "hospital", "label": "医院", "kind": { "type": "text" }, "visible_if": "has(form.medical_proof)" },
        { "key": "student_no", "label": "学号", "kind": { "type": "text", "pattern": "student_no" }, "required": true,
          "visible_if": "applicant.kind == 'student'" }
    ]))
}

#[test]
fn hidden_fields_are_dropped_and_not_required() {
    let d = leave_form();
    let staff = json!({ "kind": "staff" });
    let student = json!({ "kind": "student" });
    // 事假: the medical proof is hidden, its value dropped, and so (cascading) is the hospital.
    let data = json!({ "leave_type": "personal", "medical_proof": ["a1"], "hospital": "湘雅医院" });
    assert_eq!(validate_data(&d, &data, &staff), Ok(json!({ "leave_type": "personal" })));
    // 病假: the proof is required.
    assert_eq!(
        codes(validate_data(&d, &json!({ "leave_type": "sick" }), &staff)),
        vec![("medical_proof".into(), C::Required)]
    );
    let data = json!({ "leave_type": "sick", "medical_proof": ["a1"], "hospital": "湘雅医院" });
    assert_eq!(validate_data(&d, &data, &staff), Ok(data.clone()));
    // Applicant attributes: students must give their number.
    assert_eq!(codes(validate_data(&d, &data, &student)), vec![("student_no".into(), C::Required)]);
    let mut with_no = data.clone();
    with_no["student_no"] = json!("2024010101");
    assert_eq!(validate_data(&d, &with_no, &student), Ok(with_no.clone()));
    assert_eq!(validate_data(&d, &with_no, &staff), Ok(data));
    // A condition that cannot be evaluated (leave_type missing) counts as false.
    assert_eq!(
        codes(validate_data(&d, &json!({ "medical_proof": ["a1"] }), &staff)),
        vec![("leave_type".into(), C::Required)]
    );
    // An unknown key is refused even where a hidden field would have been.
    assert_eq!(
        codes(validate_data(&d, &json!({ "leave_type": "personal", "proof": 1 }), &staff)),
        vec![("proof".into(), C::UnknownField)]
    );
}

#[test]
fn conditions_see_normalised_values_including_money() {
    let d = def(json!([
        { "key": "total", "label": "金额", "kind": { "type": "money" } },
        { "key": "approval", "label": "审批件", "kind": { "type": "file" }, "required": true,
          "visible_if": "has(form.total) && double(form.total) > 5000.0" },
        { "key": "kind", "label": "类别", "kind": { "type": "select", "options": [ { "value": "travel", "label": "差旅" }, { "value": "other", "label": "其他" } ] } },
        { "key": "items", "label": "明细", "kind": { "type": "table", "columns": [
            { "key": "amount", "label": "金额", "kind": { "type": "money" }, "required": true },
            { "key": "train", "label": "车次", "kind": { "type": "text" }, "required": true, "visible_if": "has(form.kind) && form.kind == 'travel'" }
        ] } }
    ]));
    let a = json!({});
    assert_eq!(validate_data(&d, &json!({ "total": "5000" }), &a), Ok(json!({ "total": "5000.00" })));
    assert_eq!(codes(validate_data(&d, &json!({ "total": "5000.01" }), &a)), vec![("approval".into(), C::Required)]);
    // A column condition shows or hides the whole column.
    let rows = json!([{ "amount": "10", "train": "G1" }, { "amount": "20" }]);
    assert_eq!(
        validate_data(&d, &json!({ "kind": "other", "items": rows }), &a),
        Ok(json!({ "kind": "other", "items": [{ "amount": "10.00" }, { "amount": "20.00" }] }))
    );
    assert_eq!(
        codes(validate_data(&d, &json!({ "kind": "travel", "items": rows }), &a)),
        vec![("items[1].train".into(), C::Required)]
    );
}

fn access(pairs: &[(&str, A)]) -> BTreeMap<String, A> {
    pairs.iter().map(|(k, a)| ((*k).to_owned(), *a)).collect()
}

fn patch(v: Value) -> Map<String, Value> {
    v.as_object().cloned().expect("object")
}

fn review_form() -> FormDefinition {
    def(json!([
        { "key": "reason", "label": "事由", "kind": { "type": "text" }, "required": true },
        { "key": "amount", "label": "金额", "kind": { "type": "money" } },
        { "key": "opinion", "label": "审核意见", "kind": { "type": "textarea" } },
        { "key": "approved_amount", "label": "核定金额", "kind": { "type": "money", "max": "1000" }, "required": true },
        { "key": "salary", "label": "薪级", "kind": { "type": "text" } },
        { "key": "items", "label": "明细", "kind": { "type": "table", "columns": [
            { "key": "x", "label": "项", "kind": { "type": "text" }, "required": true } ] } }
    ]))
}

#[test]
fn patches_touch_only_editable_fields() {
    let d = review_form();
    let a = json!({});
    let acc = access(&[
        ("opinion", A::Editable),
        ("approved_amount", A::Editable),
        ("items", A::Editable),
        ("amount", A::ReadOnly),
        ("salary", A::Hidden),
    ]);
    let current = json!({ "reason": "出差", "amount": "1200.00", "approved_amount": "800.00", "salary": "5级" });
    // Editable fields merge and are normalised.
    let merged = check_patch(&d, &acc, &current, &patch(json!({ "opinion": " 同意 ", "approved_amount": "900" })), &a);
    assert_eq!(
        merged,
        Ok(
            json!({ "reason": "出差", "amount": "1200.00", "opinion": "同意", "approved_amount": "900.00", "salary": "5级" })
        )
    );
    // Read-only, hidden, unlisted (read-only by default) and unknown keys are each refused; nothing applies.
    let p = patch(json!({ "opinion": "同意", "amount": "1", "salary": "9级", "reason": "改", "bogus": 1 }));
    assert_eq!(
        codes(check_patch(&d, &acc, &current, &p, &a)),
        vec![
            ("amount".into(), C::FieldNotEditable),
            ("bogus".into(), C::UnknownField),
            ("reason".into(), C::FieldNotEditable),
            ("salary".into(), C::FieldNotEditable),
        ]
    );
    let err = check_patch(&d, &acc, &current, &patch(json!({ "amount": "1" })), &a).expect_err("refused");
    assert_eq!(err[0].message_zh, "「金额」在此环节不可修改");
    // The merged data is validated: limits, and clearing a required field with null.
    assert_eq!(
        codes(check_patch(&d, &acc, &current, &patch(json!({ "approved_amount": "1000.01" })), &a)),
        vec![("approved_amount".into(), C::TooLarge)]
    );
    assert_eq!(
        codes(check_patch(&d, &acc, &current, &patch(json!({ "approved_amount": null })), &a)),
        vec![("approved_amount".into(), C::Required)]
    );
    // null clears an optional editable field; a table is replaced whole and checked row by row.
    let with_opinion = json!({ "reason": "出差", "approved_amount": "800.00", "opinion": "同意" });
    assert_eq!(
        check_patch(&d, &acc, &with_opinion, &patch(json!({ "opinion": null })), &a),
        Ok(json!({ "reason": "出差", "approved_amount": "800.00" }))
    );
    assert_eq!(
        codes(check_patch(&d, &acc, &with_opinion, &patch(json!({ "items": [{ "x": "a" }, {}] })), &a)),
        vec![("items[1].x".into(), C::Required)]
    );
    // An empty map of permissions means everything is read-only.
    assert_eq!(
        codes(check_patch(&d, &BTreeMap::new(), &current, &patch(json!({ "opinion": "x" })), &a)),
        vec![("opinion".into(), C::FieldNotEditable)]
    );
    // An empty patch re-validates the current data.
    assert_eq!(check_patch(&d, &acc, &current, &Map::new(), &a), Ok(current.clone()));
    assert_eq!(codes(check_patch(&d, &acc, &json!([1]), &Map::new(), &a)), vec![(String::new(), C::InvalidType)]);
}

#[test]
fn redact_removes_hidden_fields() {
    let d = review_form();
    let acc = access(&[("salary", A::Hidden), ("opinion", A::Editable)]);
    let data = json!({ "reason": "出差", "salary": "5级", "opinion": "同意", "stray": 1 });
    assert_eq!(redact(&d, &acc, &data), json!({ "reason": "出差", "opinion": "同意" }));
    assert_eq!(redact(&d, &BTreeMap::new(), &json!({ "salary": "5级" })), json!({ "salary": "5级" }));
    assert_eq!(redact(&d, &acc, &Value::Null), Value::Null);
}

#[test]
fn references_list_every_id_with_its_field() {
    let d = def(json!([
        { "key": "leader", "label": "审批人", "kind": { "type": "user" } },
        { "key": "proof", "label": "证明", "kind": { "type": "certificate", "certificate_type": "在读证明" } },
        { "key": "files", "label": "附件", "kind": { "type": "file", "max_size_mb": 5 } },
        { "key": "items", "label": "明细", "kind": { "type": "table", "columns": [
            { "key": "dept", "label": "部门", "kind": { "type": "department" } },
            { "key": "receipt", "label": "票据", "kind": { "type": "file" } } ] } }
    ]));
    let data = validate_data(
        &d,
        &json!({ "leader": "u1", "proof": "c1", "files": ["f1", "f2"], "items": [{ "dept": "d1" }, { "receipt": ["r1"] }] }),
        &json!({}),
    )
    .expect("valid");
    let refs: Vec<(String, String, &str)> = references(&d, &data)
        .into_iter()
        .map(|r| {
            let kind = match &r.field.kind {
                FieldKind::User {} => "user",
                FieldKind::Department { .. } => "department",
                FieldKind::Certificate { .. } => "certificate",
                FieldKind::File { .. } => "file",
                _ => "other",
            };
            (r.path, r.id, kind)
        })
        .collect();
    let want = [
        ("leader", "u1", "user"),
        ("proof", "c1", "certificate"),
        ("files", "f1", "file"),
        ("files", "f2", "file"),
        ("items[0].dept", "d1", "department"),
        ("items[1].receipt", "r1", "file"),
    ];
    assert_eq!(refs, want.iter().map(|(p, i, k)| ((*p).to_owned(), (*i).to_owned(), *k)).collect::<Vec<_>>());
}

#[test]
fn accepted_file_types() {
    let accept: Vec<String> = [".pdf", "image/*", "application/msword"].iter().map(|s| (*s).to_owned()).collect();
    assert!(file_accepted(&accept, "证明.PDF", "application/octet-stream"));
    assert!(file_accepted(&accept, "photo.heic", "image/heic"));
    assert!(file_accepted(&accept, "a.doc", "application/msword; charset=binary"));
    assert!(!file_accepted(&accept, "a.exe", "application/x-msdownload"));
    assert!(!file_accepted(&accept, "pdf", "imagex/png"));
    assert!(file_accepted(&[], "anything.bin", "application/octet-stream"));
}

#[test]
fn a_node_can_require_fields_before_approval() {
    use tongban_engine::form::{FieldAccess, missing_required};
    let def: FormDefinition = serde_json::from_value(json!({ "fields": [
        { "key": "verdict", "label": "结论", "kind": { "type": "radio", "options": [
            { "value": "ok", "label": "可行" }, { "value": "no", "label": "不可行" } ] } },
        { "key": "why", "label": "不可行原因", "kind": { "type": "textarea" }, "visible_if": "has(form.verdict) && form.verdict == 'no'" },
        { "key": "note", "label": "备注", "kind": { "type": "text" } }
    ] }))
    .expect("form");
    let access = BTreeMap::from([
        ("verdict".to_owned(), FieldAccess::Required),
        ("why".to_owned(), FieldAccess::Required),
        ("note".to_owned(), FieldAccess::Editable),
    ]);
    let missing = |data: Value| -> Vec<String> {
        missing_required(&def, &access, &data, &json!({})).into_iter().map(|v| v.field).collect()
    };
    // Empty: the conclusion is missing; the reason is hidden, so not required.
    assert_eq!(missing(json!({})), ["verdict"]);
    assert_eq!(missing(json!({ "verdict": "ok" })), Vec::<String>::new());
    assert_eq!(missing(json!({ "verdict": "no" })), ["why"]);
    assert_eq!(missing(json!({ "verdict": "no", "why": "   " })), ["why"]);
    assert_eq!(missing(json!({ "verdict": "no", "why": "无接口" })), Vec::<String>::new());
    // Required fields are editable: a patch may fill them in.
    let merged = check_patch(&def, &access, &json!({}), json!({ "verdict": "ok" }).as_object().expect("o"), &json!({}));
    assert_eq!(merged, Ok(json!({ "verdict": "ok" })));
    assert!(FieldAccess::Required.is_editable() && !FieldAccess::ReadOnly.is_editable());
}
