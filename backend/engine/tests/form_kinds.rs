//! Validation of submitted values, table-driven per field kind.

use serde_json::{Value, json};
use tongban_engine::form::{FormDefinition, ViolationCode as C, validate_data, validate_definition};

/// A one-field form (`f`, labelled 字段) of `kind`.
fn form(kind: Value, required: bool) -> FormDefinition {
    let def: FormDefinition = serde_json::from_value(
        json!({ "fields": [ { "key": "f", "label": "字段", "kind": kind, "required": required } ] }),
    )
    .expect("definition");
    assert_eq!(validate_definition(&def), Ok(()), "{kind}");
    def
}

enum Want {
    /// Accepted, normalised to this value (`Value::Null`: left out of the data).
    Ok(Value),
    /// Refused with this code at this path.
    Err(C, &'static str),
}
use Want::{Err as Bad, Ok as Good};

fn run(kind: Value, required: bool, cases: Vec<(Value, Want)>) {
    let def = form(kind.clone(), required);
    for (value, want) in cases {
        let got = validate_data(&def, &json!({ "f": value }), &json!({}));
        match want {
            Good(Value::Null) => assert_eq!(got, Ok(json!({})), "{kind} {value}"),
            Good(v) => assert_eq!(got, Ok(json!({ "f": v })), "{kind} {value}"),
            Bad(code, path) => {
                let errs = got.expect_err(&format!("{kind} {value} should be refused"));
                assert_eq!((errs[0].code, errs[0].field.as_str()), (code, path), "{kind} {value}: {errs:?}");
                if code != C::UnknownField {
                    assert!(errs[0].message_zh.starts_with("「字段」") && errs[0].message_en.starts_with("字段"));
                }
            }
        }
    }
}

#[test]
fn text() {
    run(
        json!({ "type": "text" }),
        false,
        vec![
            (json!("  张三 "), Good(json!("张三"))),
            (json!("   "), Good(Value::Null)),
            (Value::Null, Good(Value::Null)),
            (json!(5), Bad(C::InvalidType, "f")),
            (json!("a\u{7}b"), Bad(C::ControlCharacter, "f")),
            (json!("第一行\n第二行"), Bad(C::ControlCharacter, "f")),
            (json!("abc\u{202E}fdp.exe"), Bad(C::ControlCharacter, "f")),
            (json!("x".repeat(200)), Good(json!("x".repeat(200)))),
            (json!("x".repeat(201)), Bad(C::TooLong, "f")),
        ],
    );
    // Lengths count characters, not bytes.
    run(
        json!({ "type": "text", "min_len": 2, "max_len": 4 }),
        false,
        vec![
            (json!("请假事由"), Good(json!("请假事由"))),
            (json!("  请假事由  "), Good(json!("请假事由"))),
            (json!("请假事由啊"), Bad(C::TooLong, "f")),
            (json!("请"), Bad(C::TooShort, "f")),
            (json!("👩‍🎓"), Good(json!("👩‍🎓"))), // 3 scalar values: woman, ZWJ, graduation cap
        ],
    );
    run(
        json!({ "type": "text" }),
        true,
        vec![
            (json!(" "), Bad(C::Required, "f")),
            (Value::Null, Bad(C::Required, "f")),
            (json!("有"), Good(json!("有"))),
        ],
    );
}

#[test]
fn text_patterns() {
    let p = |name: &str| json!({ "type": "text", "pattern": name });
    run(
        p("digits"),
        false,
        vec![
            (json!("0123"), Good(json!("0123"))),
            (json!("12a"), Bad(C::PatternMismatch, "f")),
            (json!("１２３"), Bad(C::PatternMismatch, "f")),
        ],
    );
    run(
        p("alphanumeric"),
        false,
        vec![(json!("AB12"), Good(json!("AB12"))), (json!("AB 12"), Bad(C::PatternMismatch, "f"))],
    );
    run(
        p("phone_cn"),
        false,
        vec![
            (json!(" 13800138000 "), Good(json!("13800138000"))),
            (json!("19912345678"), Good(json!("19912345678"))),
            (json!("12800138000"), Bad(C::PatternMismatch, "f")),
            (json!("1380013800"), Bad(C::PatternMismatch, "f")),
            (json!("138001380000"), Bad(C::PatternMismatch, "f")),
            (json!("+8613800138000"), Bad(C::PatternMismatch, "f")),
        ],
    );
    run(
        p("id_card_cn"),
        false,
        vec![
            (json!("11010519491231002X"), Good(json!("11010519491231002X"))),
            (json!("11010519491231002x"), Good(json!("11010519491231002X"))),
            (json!("110105194912310021"), Bad(C::PatternMismatch, "f")), // wrong check character
            (json!("11010519490230002X"), Bad(C::PatternMismatch, "f")), // 30 February
            (json!("01010519491231002X"), Bad(C::PatternMismatch, "f")), // region cannot start with 0
            (json!("110105491231002"), Bad(C::PatternMismatch, "f")),    // old 15-digit numbers
        ],
    );
    run(
        p("email"),
        false,
        vec![
            (json!("zhang.san@example.edu.cn"), Good(json!("zhang.san@example.edu.cn"))),
            (json!("a+tag@mail.example.com"), Good(json!("a+tag@mail.example.com"))),
            (json!("a..b@example.cn"), Bad(C::PatternMismatch, "f")),
            (json!(".a@example.cn"), Bad(C::PatternMismatch, "f")),
            (json!("a@example"), Bad(C::PatternMismatch, "f")),
            (json!("a@-x.cn"), Bad(C::PatternMismatch, "f")),
            (json!("a@x.c"), Bad(C::PatternMismatch, "f")),
            (json!("@x.cn"), Bad(C::PatternMismatch, "f")),
            (json!("张三@x.cn"), Bad(C::PatternMismatch, "f")),
            (json!("a b@x.cn"), Bad(C::PatternMismatch, "f")),
        ],
    );
    run(
        p("student_no"),
        false,
        vec![
            (json!("2024010101"), Good(json!("2024010101"))),
            (json!("T-2024-01"), Good(json!("T-2024-01"))),
            (json!("-2024"), Bad(C::PatternMismatch, "f")),
            (json!("2024 01"), Bad(C::PatternMismatch, "f")),
            (json!("1".repeat(33)), Bad(C::PatternMismatch, "f")),
        ],
    );
    run(
        p("postcode_cn"),
        false,
        vec![(json!("410000"), Good(json!("410000"))), (json!("41000"), Bad(C::PatternMismatch, "f"))],
    );
}

#[test]
fn textarea() {
    run(
        json!({ "type": "textarea", "max_len": 7 }),
        false,
        vec![
            (json!(" 第一行\r\n第二行 "), Good(json!("第一行\n第二行"))),
            (json!("一\r二\t三"), Good(json!("一\n二\t三"))),
            (json!("一二三四五六七八"), Bad(C::TooLong, "f")),
            (json!("一\u{0}二"), Bad(C::ControlCharacter, "f")),
            (json!(["一"]), Bad(C::InvalidType, "f")),
        ],
    );
}

#[test]
fn number() {
    run(
        json!({ "type": "number", "min": 0.5, "max": 10 }),
        false,
        vec![
            (json!(2.5), Good(json!(2.5))),
            (json!(10), Good(json!(10))),
            (json!(0.5), Good(json!(0.5))),
            (json!(0.4), Bad(C::TooSmall, "f")),
            (json!(10.01), Bad(C::TooLarge, "f")),
            (json!("5"), Bad(C::InvalidType, "f")),
            (json!(true), Bad(C::InvalidType, "f")),
        ],
    );
    run(
        json!({ "type": "number", "integer": true, "min": 1 }),
        true,
        vec![
            (json!(3), Good(json!(3))),
            (json!(3.0), Good(json!(3))),
            (json!(3.5), Bad(C::NotInteger, "f")),
            (json!(0), Bad(C::TooSmall, "f")),
            (json!(1e300), Bad(C::TooLarge, "f")),
            (Value::Null, Bad(C::Required, "f")),
        ],
    );
}

#[test]
fn money() {
    run(
        json!({ "type": "money" }),
        false,
        vec![
            (json!("1234.5"), Good(json!("1234.50"))),
            (json!("1234.56"), Good(json!("1234.56"))),
            (json!(" 12 "), Good(json!("12.00"))),
            (json!("0012.30"), Good(json!("12.30"))),
            (json!("0"), Good(json!("0.00"))),
            (json!(100), Good(json!("100.00"))),
            (json!("9999999999999.99"), Good(json!("9999999999999.99"))),
            (json!("1234.567"), Bad(C::InvalidMoney, "f")),
            (json!("12345678901234"), Bad(C::InvalidMoney, "f")),
            (json!(1.5), Bad(C::InvalidMoney, "f")), // floats are not exact: send a string
            (json!(-1), Bad(C::InvalidMoney, "f")),
            (json!("-1"), Bad(C::InvalidMoney, "f")),
            (json!("1,000"), Bad(C::InvalidMoney, "f")),
            (json!("¥5"), Bad(C::InvalidMoney, "f")),
            (json!(".5"), Bad(C::InvalidMoney, "f")),
            (json!("5."), Bad(C::InvalidMoney, "f")),
            (json!("1e3"), Bad(C::InvalidMoney, "f")),
        ],
    );
    run(
        json!({ "type": "money", "min": "0.01", "max": 5000 }),
        false,
        vec![
            (json!("5000"), Good(json!("5000.00"))),
            (json!("0.01"), Good(json!("0.01"))),
            (json!("5000.01"), Bad(C::TooLarge, "f")),
            (json!("0.00"), Bad(C::TooSmall, "f")),
        ],
    );
}

#[test]
fn dates() {
    run(
        json!({ "type": "date", "min": "2026-01-01", "max": "2026-12-31" }),
        false,
        vec![
            (json!("2026-02-03"), Good(json!("2026-02-03"))),
            (json!(" 2026-12-31 "), Good(json!("2026-12-31"))),
            (json!("2025-12-31"), Bad(C::TooSmall, "f")),
            (json!("2027-01-01"), Bad(C::TooLarge, "f")),
            (json!("2026-02-30"), Bad(C::InvalidDate, "f")),
            (json!("2026-2-3"), Bad(C::InvalidDate, "f")),
            (json!("2026/02/03"), Bad(C::InvalidDate, "f")),
            (json!(20260203), Bad(C::InvalidDate, "f")),
        ],
    );
    run(
        json!({ "type": "date_range", "max_days": 3 }),
        true,
        vec![
            (
                json!({ "start": "2026-02-01", "end": "2026-02-03" }),
                Good(json!({ "start": "2026-02-01", "end": "2026-02-03" })),
            ),
            (
                json!({ "start": "2026-02-01", "end": "2026-02-01" }),
                Good(json!({ "start": "2026-02-01", "end": "2026-02-01" })),
            ),
            (json!({ "start": "2026-02-01", "end": "2026-02-04" }), Bad(C::DateRangeTooLong, "f")),
            (json!({ "start": "2026-02-03", "end": "2026-02-01" }), Bad(C::DateRangeOrder, "f")),
            (json!({ "start": "2026-02-01" }), Bad(C::Required, "f.end")),
            (json!({ "start": "2026-02-01", "end": "soon" }), Bad(C::InvalidDate, "f.end")),
            (json!({ "start": "2026-02-01", "end": "2026-02-02", "days": 2 }), Bad(C::UnknownField, "f.days")),
            (json!({ "start": "", "end": "" }), Bad(C::Required, "f")),
            (json!("2026-02-01"), Bad(C::InvalidType, "f")),
        ],
    );
}

#[test]
fn choices() {
    let options = json!([
        { "value": "sick", "label": "病假" },
        { "value": "personal", "label": "事假" },
        { "value": "annual", "label": "年假", "label_en": "Annual leave" }
    ]);
    for kind in [json!({ "type": "select", "options": options }), json!({ "type": "radio", "options": options })] {
        run(
            kind,
            false,
            vec![
                (json!("sick"), Good(json!("sick"))),
                (json!(" sick "), Good(json!("sick"))),
                (json!("病假"), Bad(C::InvalidOption, "f")),
                (json!(["sick"]), Bad(C::InvalidType, "f")),
            ],
        );
    }
    for kind in [
        json!({ "type": "select", "options": options, "multiple": true }),
        json!({ "type": "checkbox", "options": options }),
    ] {
        run(
            kind,
            true,
            vec![
                (json!(["annual", "sick"]), Good(json!(["sick", "annual"]))), // option order
                (json!(["sick", "sick"]), Bad(C::DuplicateValue, "f")),
                (json!(["sick", "other"]), Bad(C::InvalidOption, "f")),
                (json!("sick"), Bad(C::InvalidType, "f")),
                (json!([1]), Bad(C::InvalidType, "f")),
                (json!([]), Bad(C::Required, "f")),
            ],
        );
    }
}

#[test]
fn ids() {
    for kind in [
        json!({ "type": "user" }),
        json!({ "type": "department" }),
        json!({ "type": "certificate", "certificate_type": "在读证明" }),
    ] {
        run(
            kind,
            false,
            vec![
                (json!("0192f5e4-7d3a-7c4e-9b1a-3f5e2d1c0b9a"), Good(json!("0192f5e4-7d3a-7c4e-9b1a-3f5e2d1c0b9a"))),
                (json!(" u_1 "), Good(json!("u_1"))),
                (json!("u 1"), Bad(C::InvalidId, "f")),
                (json!("张三"), Bad(C::InvalidId, "f")),
                (json!("x".repeat(65)), Bad(C::InvalidId, "f")),
                (json!(42), Bad(C::InvalidType, "f")),
            ],
        );
    }
}

#[test]
fn several_departments() {
    let many: Vec<String> = (0..21).map(|i| format!("d{i}")).collect();
    run(
        json!({ "type": "department", "multiple": true }),
        true,
        vec![
            (json!(["d1", " d2 "]), Good(json!(["d1", "d2"]))),
            (json!(["d1", "d1"]), Bad(C::DuplicateValue, "f")),
            (json!(["d 1"]), Bad(C::InvalidId, "f")),
            (json!("d1"), Bad(C::InvalidType, "f")),
            (json!(many), Bad(C::TooManyValues, "f")),
            (json!([]), Bad(C::Required, "f")),
        ],
    );
}

#[test]
fn files() {
    run(
        json!({ "type": "file", "max_files": 2, "max_size_mb": 5, "accept": [".pdf", "image/*"] }),
        true,
        vec![
            (json!(["a1", "a2"]), Good(json!(["a1", "a2"]))),
            (json!(["a1", "a2", "a3"]), Bad(C::TooManyFiles, "f")),
            (json!(["a1", "a1"]), Bad(C::DuplicateValue, "f")),
            (json!(["a/1"]), Bad(C::InvalidId, "f")),
            (json!("a1"), Bad(C::InvalidType, "f")),
            (json!([]), Bad(C::Required, "f")),
        ],
    );
}

#[test]
fn tables() {
    let kind = json!({
        "type": "table", "min_rows": 1, "max_rows": 3,
        "columns": [
            { "key": "item", "label": "项目", "kind": { "type": "text", "max_len": 10 }, "required": true },
            { "key": "amount", "label": "金额", "label_en": "Amount", "kind": { "type": "money", "max": "1000" }, "required": true },
            { "key": "receipt", "label": "票据", "kind": { "type": "file" } }
        ]
    });
    run(
        kind.clone(),
        false,
        vec![
            (
                json!([{ "item": " 车票 ", "amount": "12.5" }, { "item": "住宿", "amount": 300, "receipt": ["r1"] }]),
                Good(
                    json!([{ "item": "车票", "amount": "12.50" }, { "item": "住宿", "amount": "300.00", "receipt": ["r1"] }]),
                ),
            ),
            (json!([]), Good(Value::Null)),
            (
                json!([{ "item": "车票", "amount": "12" }, { "item": "住宿", "amount": "1000.01" }]),
                Bad(C::TooLarge, "f[1].amount"),
            ),
            (json!([{ "item": "车票" }]), Bad(C::Required, "f[0].amount")),
            (json!([{ "item": "车票", "amount": "1", "note": "x" }]), Bad(C::UnknownField, "f[0].note")),
            (json!([{ "item": "车票", "amount": "1" }, "row"]), Bad(C::InvalidType, "f[1]")),
            (
                json!([{ "item": "a", "amount": "1" }, { "item": "b", "amount": "1" }, { "item": "c", "amount": "1" }, { "item": "d", "amount": "1" }]),
                Bad(C::TooManyRows, "f"),
            ),
            (json!({ "item": "车票" }), Bad(C::InvalidType, "f")),
        ],
    );
    let def = form(
        json!({ "type": "table", "min_rows": 2, "columns": [ { "key": "x", "label": "X", "kind": { "type": "text" } } ] }),
        true,
    );
    let errs = validate_data(&def, &json!({ "f": [{ "x": "1" }] }), &json!({})).expect_err("too few");
    assert_eq!(errs[0].code, C::TooFewRows);
    // Every violation in every row is reported, with its path.
    let def = form(kind, false);
    let errs = validate_data(
        &def,
        &json!({ "f": [{ "item": "这一项的名字实在是太长了", "amount": "x" }, { "amount": "1" }], "g": 1 }),
        &json!({}),
    )
    .expect_err("refused");
    let got: Vec<(&str, C)> = errs.iter().map(|e| (e.field.as_str(), e.code)).collect();
    assert_eq!(
        got,
        vec![
            ("g", C::UnknownField),
            ("f[0].item", C::TooLong),
            ("f[0].amount", C::InvalidMoney),
            ("f[1].item", C::Required)
        ]
    );
    assert_eq!(errs[2].message_zh, "「字段」第 1 行「金额」请填写金额（元），最多两位小数");
    assert_eq!(errs[2].message_en, "字段 row 1, Amount: enter an amount in yuan with at most two decimals");
}

#[test]
fn whole_form_shape() {
    let def = form(json!({ "type": "text" }), false);
    for data in [json!([]), json!("x"), Value::Null] {
        let errs = validate_data(&def, &data, &json!({})).expect_err("not an object");
        assert_eq!((errs[0].field.as_str(), errs[0].code), ("", C::InvalidType));
    }
    let errs = validate_data(&def, &json!({ "f": "x", "extra": 1, "other": 2 }), &json!({})).expect_err("unknown");
    assert_eq!(
        errs.iter().map(|e| (e.field.as_str(), e.code)).collect::<Vec<_>>(),
        vec![("extra", C::UnknownField), ("other", C::UnknownField)]
    );
    let json = serde_json::to_value(&errs[0]).expect("json");
    assert_eq!(json["code"], "unknown_field");
}
