//! Golden and boundary tests for GB 18218-2018 identification and grading.

use super::*;
use serde_json::json;

fn input(value: serde_json::Value) -> Gb18218Input {
    serde_json::from_value(value).expect("test input deserialises")
}

fn eval(value: serde_json::Value) -> Gb18218Result {
    evaluate(&input(value)).expect("test input evaluates")
}

fn eval_err(value: serde_json::Value) -> Gb18218Error {
    evaluate(&input(value)).expect_err("test input is refused")
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

// ---- tables ----------------------------------------------------------------

#[test]
fn every_embedded_row_parses() {
    assert_eq!(chemicals().len(), 85);
    assert_eq!(categories().len(), 24);
    assert_eq!(TABLES.toxic_gases.len(), 14);
    assert_eq!(TABLES.alpha.len(), 5);
    assert_eq!(TABLES.grades.len(), 4);
    let seqs: Vec<u16> = chemicals().iter().map(|c| c.seq).collect();
    assert_eq!(seqs, (1..=85).collect::<Vec<u16>>());
    assert!(chemicals().iter().all(|c| c.critical_t > 0.0));
    assert!(
        categories()
            .iter()
            .all(|c| c.critical_t > 0.0 && c.beta > 0.0)
    );
}

#[test]
fn the_assets_are_unchanged_copies_of_the_shared_tables() {
    // The shared folder is the reviewed source; a drifted copy would silently change Q.
    let shared = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/standards");
    if !shared.is_dir() {
        return; // not every checkout has shared/ beside it
    }
    for (file, embedded) in [
        ("gb18218_table1.csv", tables_text::TABLE1),
        ("gb18218_table2.csv", tables_text::TABLE2),
        ("gb18218_beta.csv", tables_text::BETA),
        ("gb18218_alpha.csv", tables_text::ALPHA),
        ("gb18218_grades.csv", tables_text::GRADES),
    ] {
        let text = std::fs::read_to_string(shared.join(file)).expect("shared table readable");
        assert_eq!(text, embedded, "{file} differs from shared/standards");
    }
}

mod tables_text {
    pub const TABLE1: &str = include_str!("../../../assets/standards/gb18218_table1.csv");
    pub const TABLE2: &str = include_str!("../../../assets/standards/gb18218_table2.csv");
    pub const BETA: &str = include_str!("../../../assets/standards/gb18218_beta.csv");
    pub const ALPHA: &str = include_str!("../../../assets/standards/gb18218_alpha.csv");
    pub const GRADES: &str = include_str!("../../../assets/standards/gb18218_grades.csv");
}

#[test]
fn every_table3_gas_but_carbon_monoxide_is_a_table1_chemical_with_its_beta() {
    for gas in &TABLES.toxic_gases {
        let named = chemicals().iter().find(|c| {
            c.toxic_gas_beta_exact.as_ref() == Some(&gas.beta) && c.cas.contains(&gas.cas)
        });
        if gas.cas == "630-08-0" {
            assert!(
                named.is_none(),
                "CO is deliberately not mapped to a Table 1 row"
            );
        } else {
            assert!(named.is_some(), "{} has no Table 1 row", gas.key);
        }
    }
    assert_eq!(
        find_chemical("氯").and_then(|c| c.toxic_gas_beta),
        Some(4.0)
    );
    assert_eq!(
        find_chemical("光气").and_then(|c| c.toxic_gas_beta),
        Some(20.0)
    );
}

#[test]
fn yingji_categories_only_cover_chemicals_without_a_table3_beta() {
    let with_category: Vec<&Chemical> = chemicals()
        .iter()
        .filter(|c| c.category.is_some())
        .collect();
    assert!(with_category.len() >= 30);
    for c in with_category {
        assert!(
            c.toxic_gas_beta.is_none(),
            "{} has Table 3 β and needs no category",
            c.name_zh
        );
        assert!(c.category_basis.as_deref().is_some_and(|b| !b.is_empty()));
    }
    assert_eq!(
        find_chemical("乙醚").and_then(|c| c.category.as_deref()),
        Some("W5.1")
    );
    assert_eq!(
        find_chemical("甲醇").and_then(|c| c.category.as_deref()),
        Some("W5.3")
    );
    assert_eq!(
        find_chemical("液化石油气").and_then(|c| c.category.as_deref()),
        Some("W2")
    );
    // Gasoline's category 1 vs 2 is not certain, so it is left to the caller.
    assert_eq!(
        find_chemical("汽油").and_then(|c| c.category.as_deref()),
        None
    );
}

// ---- look-up ---------------------------------------------------------------

#[test]
fn a_chemical_is_found_by_cas_name_alias_or_english_name() {
    let seq = |q: &str| find_chemical(q).map(|c| c.seq);
    assert_eq!(seq("7782-50-5"), Some(12));
    assert_eq!(seq("氯"), Some(12));
    assert_eq!(seq("液氯"), Some(12));
    assert_eq!(seq("chlorine"), Some(12));
    assert_eq!(seq(" CHLORINE "), Some(12));
    assert_eq!(seq("天然气"), Some(49));
    assert_eq!(seq("8006-14-2"), Some(49));
    assert_eq!(seq("74-98-6"), Some(52)); // propane is one of LPG's CAS numbers
    assert_eq!(seq("氧（压缩的或液化的）"), Some(56)); // full-width brackets
    assert_eq!(seq("TDI"), Some(23));
}

#[test]
fn a_prefix_or_an_unlisted_strength_is_not_a_match() {
    // 甲醛 (any strength) is not the row for 甲醛(含量>90%).
    assert!(find_chemical("甲醛").is_none());
    assert!(find_chemical("硝酸").is_none());
    assert!(find_chemical("柴油").is_none());
}

#[test]
fn a_cas_shared_by_several_rows_finds_them_all_but_no_single_chemical() {
    assert!(find_chemical("9004-70-0").is_none());
    assert_eq!(find_chemicals("9004-70-0").len(), 6);
    assert_eq!(find_chemicals("硝化棉").len(), 5); // row 42's alias is 硝化棉溶液
}

#[test]
fn categories_are_listed_in_table2_order() {
    let symbols: Vec<&str> = categories().iter().map(|c| c.symbol.as_str()).collect();
    assert_eq!(symbols.first(), Some(&"J1"));
    assert_eq!(symbols.last(), Some(&"W11"));
    let w2 = categories().iter().find(|c| c.symbol == "W2").expect("W2");
    assert_eq!((w2.critical_t, w2.beta), (10.0, 1.5));
}

// ---- published worked examples --------------------------------------------

/// Exam question on GB 18218 grading, published with its worked answer:
/// sulphur dioxide, β = 2, 60 exposed people so α = 1.5, Q = 20 t, q = 200 t;
/// R = 1.5 × (2 × 200 / 20) = 30, 三级 (answer C).
/// Sources: https://www.8fe.cn/test-question-282515.html and
/// http://www.cquc.net:8089/YFB12/examTab_getExam.action?ex_Id=29970&su_Id=7
#[test]
fn the_published_sulphur_dioxide_example_is_a_third_grade_source_with_r_30() {
    let result = eval(json!({
        "exposed_population": 60,
        "substances": [{"name": "二氧化硫", "quantity_t": 200}]
    }));
    assert!(result.is_major);
    assert_eq!(result.s, 10.0);
    assert_eq!(result.alpha, 1.5);
    assert_eq!(result.r, Some(30.0));
    assert_eq!(result.grade, Some(3));
    assert_eq!(result.grade_zh.as_deref(), Some("三级"));
    let term = &result.terms[0];
    assert_eq!((term.critical_t, term.beta), (20.0, Some(2.0)));
    assert_eq!(term.source, CriticalSource::Table1);
    assert_eq!(term.beta_source, Some(BetaSource::Table3));
}

/// Filling-station identification published in a safety-assessment report: gasoline
/// 26.64 t (Q 200 t) and diesel 22.95 t (Q 5000 t, flammable liquid with flash point
/// 23–61 °C); 26.64/200 + 22.95/5000 = 0.14 < 1, not a major hazard source.
/// Source: https://haowendang.cn/c8dyld91ixv2teb88j4i568ub00wtu600618_1.html
/// (written under GB 18218-2009; the 2018 values are the same: gasoline is Table 1
/// row 66 at 200 t, diesel falls to Table 2 W5.4 at 5000 t).
#[test]
fn the_published_filling_station_example_is_not_a_major_hazard_source() {
    let result = eval(json!({
        "exposed_population": 120,
        "substances": [
            {"name": "汽油", "quantity_t": 26.64},
            {"name": "柴油", "category": "W5.4", "quantity_t": 22.95}
        ]
    }));
    assert!(!result.is_major);
    assert!(close(result.s, 26.64 / 200.0 + 22.95 / 5000.0));
    assert_eq!((result.s * 100.0).round() / 100.0, 0.14);
    assert_eq!((result.r, result.grade), (None, None));
    assert_eq!(result.terms[0].source, CriticalSource::Table1);
    assert_eq!(result.terms[0].table1_seq, Some(66));
    // Gasoline's category is not certain and it is not needed below S = 1.
    assert_eq!(result.terms[0].beta, None);
    assert_eq!(result.terms[1].source, CriticalSource::Table2);
    assert_eq!(result.terms[1].critical_t, 5000.0);
    assert_eq!(result.terms[1].beta_source, Some(BetaSource::Table4));
}

// ---- identification boundary: S = 1 exactly -------------------------------

fn chlorine(q: f64) -> serde_json::Value {
    json!({"exposed_population": 0, "substances": [{"name": "液氯", "quantity_t": q}]})
}

#[test]
fn a_single_chemical_just_below_its_critical_quantity_is_not_major() {
    let result = eval(chlorine(4.999_999));
    assert!(!result.is_major);
    assert_eq!(result.r, None);
}

#[test]
fn a_single_chemical_exactly_at_its_critical_quantity_is_major() {
    let result = eval(chlorine(5.0));
    assert!(result.is_major);
    assert_eq!(result.s, 1.0);
}

#[test]
fn a_single_chemical_just_above_its_critical_quantity_is_major() {
    assert!(eval(chlorine(5.000_001)).is_major);
}

#[test]
fn a_tenth_and_two_tenths_of_a_critical_quantity_of_three_tenths_sum_to_exactly_one() {
    // In f64, 0.1/0.3 + 0.2/0.3 is not 1; written decimals are.
    let result = eval(json!({"exposed_population": 0, "substances": [
        {"name": "光气", "quantity_t": 0.1},
        {"name": "光气", "quantity_t": 0.2}
    ]}));
    assert!(result.is_major);
    assert_eq!(result.s, 1.0);
}

#[test]
fn three_thirds_of_a_critical_quantity_sum_to_exactly_one() {
    // q/Q = 1/3 three times; 0.1/0.3 is not a third in f64.
    let third = json!({"name": "碳酰氯", "quantity_t": 0.1});
    let result = eval(json!({"exposed_population": 0, "substances": [third, third, third]}));
    assert!(result.is_major);
    assert_eq!(result.s, 1.0);
}

#[test]
fn seven_tenths_and_one_tenth_of_eight_tenths_is_exactly_one_where_floats_fall_short() {
    let (a, b, q) = std::hint::black_box((0.7_f64, 0.1_f64, 0.8_f64));
    assert!(
        a / q + b / q < 1.0,
        "the float sum misses, which is why S is exact"
    );
    let substance = |q: f64| {
        json!({"name": "某物", "category": "W2", "quantity_t": q, "critical_t": 0.8,
               "override_reason": "local ruling"})
    };
    let result = eval(json!({"exposed_population": 0,
                             "substances": [substance(0.7), substance(0.1)]}));
    assert!(result.is_major);
    assert_eq!(result.s, 1.0);
}

#[test]
fn a_sum_one_millionth_short_of_one_is_not_major() {
    let result = eval(json!({"exposed_population": 0, "substances": [
        {"name": "液氯", "quantity_t": 2.5},
        {"name": "液氨", "quantity_t": 4.99999}
    ]}));
    assert!(!result.is_major);
}

// ---- grading boundaries: R = 10, 50, 100 -----------------------------------

/// Chlorine (β 4, Q 5 t) with no exposed residents (α 0.5): R = 0.5 × 4 × q/5 = 0.4·q.
fn chlorine_r(q: f64) -> Gb18218Result {
    eval(chlorine(q))
}

#[test]
fn r_exactly_10_is_grade_three_and_just_below_is_grade_four() {
    assert_eq!(chlorine_r(25.0).r, Some(10.0));
    assert_eq!(chlorine_r(25.0).grade, Some(3));
    assert_eq!(chlorine_r(24.999_999).grade, Some(4));
}

#[test]
fn r_exactly_50_is_grade_two_and_just_below_is_grade_three() {
    assert_eq!(chlorine_r(125.0).r, Some(50.0));
    assert_eq!(chlorine_r(125.0).grade, Some(2));
    assert_eq!(chlorine_r(124.999_999).grade, Some(3));
}

#[test]
fn r_exactly_100_is_grade_one_and_just_below_is_grade_two() {
    assert_eq!(chlorine_r(250.0).r, Some(100.0));
    assert_eq!(chlorine_r(250.0).grade, Some(1));
    assert_eq!(chlorine_r(249.999_999).grade, Some(2));
}

#[test]
fn r_reaching_10_through_decimal_thirds_is_exactly_10() {
    // Phosgene (β 20, Q 0.3) three times 0.1 t with α 0.5: R = 0.5 × 20 × 1 = 10.
    let third = json!({"name": "光气", "quantity_t": 0.1});
    let result = eval(json!({"exposed_population": 0, "substances": [third, third, third]}));
    assert_eq!(result.r, Some(10.0));
    assert_eq!(result.grade, Some(3));
}

// ---- β -----------------------------------------------------------------------

#[test]
fn chlorine_takes_its_table3_beta_of_four() {
    let result = eval(json!({"exposed_population": 0, "substances": [
        {"name": "氯", "quantity_t": 20}
    ]}));
    let term = &result.terms[0];
    assert_eq!(term.q_over_critical, 4.0);
    assert_eq!(term.beta, Some(4.0));
    assert_eq!(term.beta_q_over_critical, Some(16.0));
    assert_eq!(term.beta_source, Some(BetaSource::Table3));
    assert_eq!(result.r, Some(8.0)); // α 0.5
}

#[test]
fn table3_beta_wins_over_a_callers_category() {
    let result = eval(json!({"exposed_population": 0, "substances": [
        {"cas": "7664-41-7", "category": "W2", "quantity_t": 10}
    ]}));
    assert_eq!(result.terms[0].beta, Some(2.0));
    assert_eq!(result.terms[0].beta_source, Some(BetaSource::Table3));
    assert_eq!(result.terms[0].critical_t, 10.0); // Table 1, not W2
}

#[test]
fn carbon_monoxide_outside_table1_takes_q_from_its_category_and_beta_from_table3() {
    let result = eval(json!({"exposed_population": 0, "substances": [
        {"name": "一氧化碳", "cas": "630-08-0", "category": ["W2", "J3"], "quantity_t": 10}
    ]}));
    let term = &result.terms[0];
    assert_eq!(term.source, CriticalSource::Table2);
    assert_eq!(term.critical_t, 10.0);
    assert_eq!(term.category.as_deref(), Some("W2"));
    assert_eq!(
        (term.beta, term.beta_source),
        (Some(2.0), Some(BetaSource::Table3))
    );
}

#[test]
fn a_named_chemical_takes_beta_from_yingjis_category() {
    let result = eval(json!({"exposed_population": 0, "substances": [
        {"name": "乙醚", "quantity_t": 10}
    ]}));
    let term = &result.terms[0];
    assert_eq!(term.source, CriticalSource::Table1);
    assert_eq!(
        (term.beta, term.beta_source),
        (Some(1.5), Some(BetaSource::Table4))
    );
    assert_eq!(term.category.as_deref(), Some("W5.1"));
    assert_eq!(term.category_source, Some(CategorySource::YingjiTable));
}

#[test]
fn a_callers_category_wins_over_yingjis_for_a_named_chemical() {
    // Methanol worked above its boiling point is W5.1 (β 1.5), not the stored W5.3.
    let result = eval(json!({"exposed_population": 0, "substances": [
        {"cas": "67-56-1", "category": "W5.1", "quantity_t": 500}
    ]}));
    let term = &result.terms[0];
    assert_eq!(term.critical_t, 500.0);
    assert_eq!(term.beta, Some(1.5));
    assert_eq!(term.category_source, Some(CategorySource::Input));
    assert_eq!(term.substance, "甲醇");
}

#[test]
fn a_major_source_with_a_named_chemical_of_unknown_category_asks_for_it_by_name() {
    let err = eval_err(json!({"exposed_population": 0, "substances": [
        {"name": "汽油", "quantity_t": 300}
    ]}));
    assert!(matches!(err, Gb18218Error::BetaUnknown { index: 0, .. }));
    assert_eq!(err.field(), "substances[0].category");
    let message = err.to_string();
    assert!(
        message.contains("汽油") && message.contains("category"),
        "{message}"
    );
}

#[test]
fn a_named_chemical_of_unknown_category_is_graded_once_its_category_is_given() {
    let result = eval(json!({"exposed_population": 100, "substances": [
        {"name": "汽油", "category": "W5.1", "quantity_t": 300}
    ]}));
    assert_eq!(result.r, Some(2.0 * 1.5 * 1.5));
    assert_eq!(result.grade, Some(4));
}

// ---- categories --------------------------------------------------------------

#[test]
fn an_unlisted_chemical_falls_back_to_its_table2_category() {
    let result = eval(json!({"exposed_population": 10, "substances": [
        {"name": "某溶剂", "category": "w5.3", "quantity_t": 1000}
    ]}));
    let term = &result.terms[0];
    assert_eq!(term.source, CriticalSource::Table2);
    assert_eq!(term.critical_t, 1000.0);
    assert_eq!(term.category.as_deref(), Some("W5.3"));
    assert!(result.is_major);
    assert_eq!(result.r, Some(1.0));
    assert_eq!(result.grade, Some(4));
}

#[test]
fn a_chemical_with_several_categories_takes_the_lowest_q_and_that_categorys_beta() {
    // W5.4 Q 5000 β 1; J3 Q 50 β 2; W2 Q 10 β 1.5 → W2.
    let result = eval(json!({"exposed_population": 0, "substances": [
        {"name": "某气体", "category": ["W5.4", "J3", "W2"], "quantity_t": 5}
    ]}));
    let term = &result.terms[0];
    assert_eq!(term.category.as_deref(), Some("W2"));
    assert_eq!((term.critical_t, term.beta), (10.0, Some(1.5)));
}

#[test]
fn categories_tied_on_q_give_the_higher_beta() {
    // J3 and W5.2 both have Q 50; β 2 beats β 1.
    let result = eval(json!({"exposed_population": 0, "substances": [
        {"name": "某液体", "category": ["W5.2", "J3"], "quantity_t": 50}
    ]}));
    assert_eq!(result.terms[0].category.as_deref(), Some("J3"));
    assert_eq!(result.terms[0].beta, Some(2.0));
}

#[test]
fn an_unknown_category_symbol_is_refused_at_its_position() {
    let err = eval_err(json!({"exposed_population": 0, "substances": [
        {"name": "甲苯", "quantity_t": 1},
        {"name": "某液体", "category": ["W5.3", "W12"], "quantity_t": 1}
    ]}));
    assert_eq!(err.field(), "substances[1].category[1]");
    assert!(err.to_string().contains("W12"));
    let err = eval_err(json!({"exposed_population": 0, "substances": [
        {"name": "某液体", "category": "X", "quantity_t": 1}
    ]}));
    assert_eq!(err.field(), "substances[0].category");
}

#[test]
fn an_empty_category_list_is_refused() {
    let err = eval_err(json!({"exposed_population": 0, "substances": [
        {"name": "某液体", "category": [], "quantity_t": 1}
    ]}));
    assert!(matches!(
        err,
        Gb18218Error::EmptyCategories { index: 0, .. }
    ));
}

// ---- overrides -------------------------------------------------------------

#[test]
fn overrides_with_a_reason_replace_q_and_beta_and_say_so() {
    let result = eval(json!({"exposed_population": 0, "substances": [
        {"name": "某溶剂", "category": "W5.3", "quantity_t": 3, "critical_t": 1,
         "beta": 2, "override_reason": "2017 assessment by the district bureau"}
    ]}));
    let term = &result.terms[0];
    assert_eq!(term.source, CriticalSource::Override);
    assert_eq!(term.beta_source, Some(BetaSource::Override));
    assert_eq!((term.critical_t, term.beta), (1.0, Some(2.0)));
    assert_eq!(
        term.override_reason.as_deref(),
        Some("2017 assessment by the district bureau")
    );
    assert_eq!(result.r, Some(3.0)); // 0.5 × 2 × 3
}

#[test]
fn an_override_of_a_named_chemical_keeps_its_table3_beta_unless_beta_is_overridden() {
    let result = eval(json!({"exposed_population": 0, "substances": [
        {"name": "氯", "quantity_t": 10, "critical_t": 10, "override_reason": "local ruling"}
    ]}));
    let term = &result.terms[0];
    assert_eq!(term.source, CriticalSource::Override);
    assert_eq!(term.beta_source, Some(BetaSource::Table3));
}

#[test]
fn an_override_without_a_reason_is_refused() {
    for (field, value) in [("critical_t", json!(1)), ("beta", json!(2))] {
        let mut substance = json!({"name": "氯", "quantity_t": 1});
        substance[field] = value;
        let err = eval_err(json!({"exposed_population": 0, "substances": [substance.clone()]}));
        assert!(
            matches!(err, Gb18218Error::OverrideWithoutReason { overridden, .. } if overridden == field)
        );
        assert_eq!(err.field(), "substances[0].override_reason");
        substance["override_reason"] = json!("   ");
        let err = eval_err(json!({"exposed_population": 0, "substances": [substance]}));
        assert!(matches!(err, Gb18218Error::OverrideWithoutReason { .. }));
    }
}

#[test]
fn an_override_must_be_a_positive_finite_number() {
    let err = eval_err(json!({"exposed_population": 0, "substances": [
        {"name": "氯", "quantity_t": 1, "critical_t": 0, "override_reason": "x"}
    ]}));
    assert_eq!(err.field(), "substances[0].critical_t");
    let err = eval_err(json!({"exposed_population": 0, "substances": [
        {"name": "氯", "quantity_t": 1, "beta": -1, "override_reason": "x"}
    ]}));
    assert_eq!(err.field(), "substances[0].beta");
}

// ---- unknown, ambiguous, invalid ------------------------------------------

#[test]
fn an_unknown_chemical_without_a_category_is_an_error_naming_it() {
    let err = eval_err(json!({"exposed_population": 0, "substances": [
        {"name": "甲苯", "quantity_t": 1},
        {"name": "某神秘液体", "quantity_t": 1}
    ]}));
    assert!(matches!(
        err,
        Gb18218Error::UnknownSubstance { index: 1, .. }
    ));
    assert_eq!(err.field(), "substances[1].name");
    assert!(err.to_string().contains("某神秘液体"), "{err}");
    assert!(err.to_string().contains("substances[1]"), "{err}");
}

#[test]
fn an_unknown_cas_without_a_category_is_an_error_naming_the_cas() {
    let err = eval_err(json!({"exposed_population": 0, "substances": [
        {"cas": "64-19-7", "quantity_t": 1}
    ]}));
    assert_eq!(err.field(), "substances[0].cas");
    assert!(err.to_string().contains("64-19-7"));
}

#[test]
fn an_unknown_chemical_with_q_overridden_but_no_beta_is_fine_below_one_and_refused_above() {
    let substance = |q: f64| json!({"name": "某物", "quantity_t": q, "critical_t": 10, "override_reason": "ruling"});
    assert!(!eval(json!({"exposed_population": 0, "substances": [substance(5.0)]})).is_major);
    let err = eval_err(json!({"exposed_population": 0, "substances": [substance(20.0)]}));
    assert!(matches!(err, Gb18218Error::BetaUnknown { .. }));
}

#[test]
fn a_substance_without_name_or_cas_is_refused() {
    let err = eval_err(json!({"exposed_population": 0, "substances": [
        {"name": "  ", "quantity_t": 1}
    ]}));
    assert!(matches!(err, Gb18218Error::MissingIdentifier { index: 0 }));
}

#[test]
fn a_cas_shared_by_several_rows_is_narrowed_by_the_name_or_refused() {
    let result = eval(json!({"exposed_population": 0, "substances": [
        {"cas": "9004-70-0", "name": "硝化纤维素(含乙醇≥25%)", "quantity_t": 1}
    ]}));
    assert_eq!(result.terms[0].table1_seq, Some(39));
    assert_eq!(result.terms[0].critical_t, 10.0);
    let err = eval_err(json!({"exposed_population": 0, "substances": [
        {"cas": "9004-70-0", "quantity_t": 1}
    ]}));
    assert!(matches!(err, Gb18218Error::AmbiguousSubstance { .. }));
    assert_eq!(err.field(), "substances[0].cas");
    assert!(err.to_string().contains("row 37"));
}

#[test]
fn a_cas_and_a_name_naming_different_rows_are_refused() {
    let err = eval_err(json!({"exposed_population": 0, "substances": [
        {"cas": "7782-50-5", "name": "氨", "quantity_t": 1}
    ]}));
    assert!(matches!(err, Gb18218Error::ConflictingIdentifiers { .. }));
}

#[test]
fn a_name_that_is_only_a_label_does_not_hide_a_known_cas() {
    let result = eval(json!({"exposed_population": 0, "substances": [
        {"cas": "7782-50-5", "name": "1号储罐液氯", "quantity_t": 1}
    ]}));
    assert_eq!(result.terms[0].table1_seq, Some(12));
    assert_eq!(result.terms[0].substance, "1号储罐液氯");
}

#[test]
fn negative_or_non_finite_quantities_are_refused() {
    let err = eval_err(json!({"exposed_population": 0, "substances": [
        {"name": "氯", "quantity_t": -1}
    ]}));
    assert_eq!(err.field(), "substances[0].quantity_t");
    let mut input = input(json!({"exposed_population": 0, "substances": [
        {"name": "氯", "quantity_t": 1}
    ]}));
    input.substances[0].quantity_t = f64::NAN;
    assert!(matches!(
        evaluate(&input),
        Err(Gb18218Error::InvalidQuantity { .. })
    ));
    input.substances[0].quantity_t = f64::INFINITY;
    assert!(matches!(
        evaluate(&input),
        Err(Gb18218Error::InvalidQuantity { .. })
    ));
}

#[test]
fn a_negative_population_is_refused() {
    let err = eval_err(json!({"exposed_population": -1, "substances": []}));
    assert_eq!(err, Gb18218Error::NegativePopulation(-1));
    assert_eq!(err.field(), "exposed_population");
}

#[test]
fn unknown_fields_are_refused_when_deserialising() {
    let bad = json!({"exposed_population": 0, "substances": [
        {"name": "氯", "quantity_t": 1, "qty": 2}
    ]});
    assert!(serde_json::from_value::<Gb18218Input>(bad).is_err());
}

#[test]
fn a_unit_without_substances_is_not_a_major_hazard_source() {
    let result = eval(json!({"exposed_population": 5, "substances": []}));
    assert_eq!((result.s, result.is_major, result.r), (0.0, false, None));
}

// ---- α ------------------------------------------------------------------------

#[test]
fn alpha_follows_table5_at_every_band_edge() {
    for (population, alpha) in [
        (0, 0.5),
        (1, 1.0),
        (29, 1.0),
        (30, 1.2),
        (49, 1.2),
        (50, 1.5),
        (99, 1.5),
        (100, 2.0),
        (1_000_000, 2.0),
    ] {
        let result = eval(json!({"exposed_population": population, "substances": []}));
        assert_eq!(result.alpha, alpha, "population {population}");
        assert_eq!(result.exposed_population, population);
    }
}

// ---- JSON shape ---------------------------------------------------------------

#[test]
fn the_result_serialises_to_the_documented_json_shape() {
    let result = eval(json!({"exposed_population": 60, "substances": [
        {"name": "二氧化硫", "quantity_t": 200},
        {"cas": "67-56-1", "quantity_t": 50},
        {"name": "某溶剂", "category": "W5.3", "quantity_t": 3, "critical_t": 1000,
         "beta": 1, "override_reason": "2019 assessment"}
    ]}));
    let value = serde_json::to_value(&result).expect("result serialises");
    assert_eq!(
        value,
        json!({
            "s": 10.103,
            "is_major": true,
            "r": 30.1545,
            "grade": 3,
            "grade_zh": "三级",
            "alpha": 1.5,
            "exposed_population": 60,
            "terms": [
                {"substance": "二氧化硫", "cas": "7446-09-5", "table1_seq": 4,
                 "quantity_t": 200.0, "critical_t": 20.0, "beta": 2.0,
                 "q_over_critical": 10.0, "beta_q_over_critical": 20.0,
                 "source": "table1", "beta_source": "table3", "category": null,
                 "category_source": null, "override_reason": null},
                {"substance": "甲醇", "cas": "67-56-1", "table1_seq": 65,
                 "quantity_t": 50.0, "critical_t": 500.0, "beta": 1.0,
                 "q_over_critical": 0.1, "beta_q_over_critical": 0.1,
                 "source": "table1", "beta_source": "table4", "category": "W5.3",
                 "category_source": "yingji_table", "override_reason": null},
                {"substance": "某溶剂", "cas": null, "table1_seq": null,
                 "quantity_t": 3.0, "critical_t": 1000.0, "beta": 1.0,
                 "q_over_critical": 0.003, "beta_q_over_critical": 0.003,
                 "source": "override", "beta_source": "override", "category": "W5.3",
                 "category_source": "input", "override_reason": "2019 assessment"}
            ]
        })
    );
}
