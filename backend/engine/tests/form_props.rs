//! Properties of form validation: normalised data is a fixed point, lengths count characters,
//! money is exact, ID card check characters.

use proptest::prelude::*;
use serde_json::{Value, json};
use tongban_engine::form::{Amount, FormDefinition, Pattern, ViolationCode, validate_data};

fn reimbursement() -> FormDefinition {
    serde_json::from_value(json!({ "fields": [
        { "key": "title", "label": "标题", "kind": { "type": "text", "max_len": 20 }, "required": true },
        { "key": "note", "label": "说明", "kind": { "type": "textarea", "max_len": 60 } },
        { "key": "total", "label": "金额", "kind": { "type": "money" } },
        { "key": "days", "label": "天数", "kind": { "type": "number", "integer": true } },
        { "key": "tags", "label": "标签", "kind": { "type": "checkbox", "options": [
            { "value": "a", "label": "甲" }, { "value": "b", "label": "乙" }, { "value": "c", "label": "丙" } ] } },
        { "key": "extra", "label": "附加", "kind": { "type": "text" }, "visible_if": "has(form.total) && double(form.total) > 100.0" },
        { "key": "rows", "label": "明细", "kind": { "type": "table", "columns": [
            { "key": "amount", "label": "金额", "kind": { "type": "money" }, "required": true },
            { "key": "memo", "label": "备注", "kind": { "type": "text" } } ] } }
    ] }))
    .expect("definition")
}

/// Text mixing Chinese, ASCII, spaces and (for textareas) line breaks.
fn text(max: usize, multiline: bool) -> impl Strategy<Value = String> {
    let chars = if multiline {
        "[a-z0-9 \\r\\n\\t通办请假事由报销，。]"
    } else {
        "[a-z0-9 通办请假事由报销，。]"
    };
    proptest::collection::vec(proptest::string::string_regex(chars).expect("regex"), 0..max).prop_map(|v| v.concat())
}

fn money() -> impl Strategy<Value = Value> {
    prop_oneof![
        (0i64..1_000_000_000).prop_map(|fen| json!(format!("{}.{:02}", fen / 100, fen % 100))),
        (0i64..1_000_000, 0u8..10).prop_map(|(y, d)| json!(format!("{y}.{d}"))),
        (0u64..1_000_000).prop_map(|y| json!(y)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn normalised_data_is_a_fixed_point(
        title in text(22, false),
        note in proptest::option::of(text(70, true)),
        total in proptest::option::of(money()),
        days in proptest::option::of(-1000i64..1000),
        tags in proptest::sample::subsequence(vec!["c", "a", "b"], 0..=3),
        extra in proptest::option::of(text(5, false)),
        rows in proptest::collection::vec((money(), proptest::option::of(text(5, false))), 0..4),
    ) {
        let def = reimbursement();
        let mut data = json!({ "title": title, "tags": tags });
        if let Some(n) = note { data["note"] = json!(n); }
        if let Some(t) = total { data["total"] = t; }
        if let Some(d) = days { data["days"] = json!(d); }
        if let Some(e) = extra { data["extra"] = json!(e); }
        data["rows"] = Value::Array(rows.into_iter().map(|(a, m)| match m {
            Some(m) => json!({ "amount": a, "memo": m }),
            None => json!({ "amount": a }),
        }).collect());
        match validate_data(&def, &data, &json!({})) {
            Ok(normalised) => {
                prop_assert_eq!(validate_data(&def, &normalised, &json!({})), Ok(normalised.clone()));
                let title = normalised["title"].as_str().expect("title");
                prop_assert!(title.chars().count() <= 20 && title.trim() == title && !title.is_empty());
            }
            Err(errs) => {
                // Only the length and required limits can fail with these inputs.
                for e in errs {
                    prop_assert!(matches!(e.code, ViolationCode::TooLong | ViolationCode::Required), "{:?}", e);
                }
            }
        }
    }

    #[test]
    fn lengths_count_characters(n in 1usize..50) {
        let def: FormDefinition = serde_json::from_value(json!({ "fields": [
            { "key": "t", "label": "文本", "kind": { "type": "text", "max_len": n } } ] })).expect("definition");
        let ok = "通".repeat(n);
        prop_assert_eq!(validate_data(&def, &json!({ "t": ok }), &json!({})), Ok(json!({ "t": ok })));
        let long = "通".repeat(n + 1);
        let errs = validate_data(&def, &json!({ "t": long }), &json!({})).expect_err("too long");
        prop_assert_eq!(errs[0].code, ViolationCode::TooLong);
    }

    #[test]
    fn money_is_exact(fen in 0i64..=999_999_999_999_999) {
        let a = Amount::from_fen(fen).expect("in range");
        let s = a.to_string();
        prop_assert_eq!(Amount::parse(&s), Some(a));
        prop_assert_eq!(s.split_once('.').map(|(_, d)| d.len()), Some(2));
        if fen % 10 == 0 {
            // One decimal means tenths.
            let short = &s[..s.len() - 1];
            prop_assert_eq!(Amount::parse(short), Some(a));
        }
        prop_assert_eq!(serde_json::to_value(a).expect("json"), json!(s));
    }

    #[test]
    fn id_card_check_characters(region in 110_000u32..660_000, days in 0i64..45_000, seq in 0u32..1000) {
        let birth = chrono::NaiveDate::from_ymd_opt(1900, 1, 1).expect("date") + chrono::Days::new(days as u64);
        let body = format!("{region}{}{seq:03}", birth.format("%Y%m%d"));
        let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
        let sum: u32 = body.bytes().zip(weights).map(|(b, w)| u32::from(b - b'0') * w).sum();
        let check = b"10X98765432"[(sum % 11) as usize] as char;
        let id = format!("{body}{check}");
        prop_assert_eq!(Pattern::IdCardCn.normalise(&id.to_lowercase()), Some(id.clone()));
        for other in "0123456789X".chars().filter(|c| *c != check) {
            let wrong = format!("{}{}", body, other);
            prop_assert!(!Pattern::IdCardCn.matches(&wrong), "{}", wrong);
        }
    }
}

#[test]
fn amounts_refuse_out_of_range() {
    assert_eq!(Amount::from_fen(-1), None);
    assert_eq!(Amount::from_fen(1_000_000_000_000_000), None);
    assert_eq!(Amount::parse("12.5").map(Amount::fen), Some(1250));
    assert_eq!(Amount::from_json(&json!(u64::MAX)), None);
    assert_eq!(serde_json::from_value::<Amount>(json!("1.05")).map(Amount::fen).ok(), Some(105));
    assert!(serde_json::from_value::<Amount>(json!(1.05)).is_err());
    assert_eq!(Pattern::parse("phone_cn"), Some(Pattern::PhoneCn));
    assert!(Pattern::ALL.iter().all(|p| Pattern::parse(p.name()) == Some(*p)));
}
