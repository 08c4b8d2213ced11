//! Identification and grading of major hazard sources of hazardous chemicals,
//! GB 18218-2018 (危险化学品重大危险源辨识). Pure: no I/O, no HTTP.
//!
//! For one unit (a production unit, or a storage unit such as a tank farm within its
//! dike) [`evaluate`] computes
//!
//! - **S = Σ qᵢ/Qᵢ**, q the design maximum quantity of each chemical in tonnes and Q
//!   its critical quantity: from Table 1 when the chemical is named there, else from
//!   Table 2 by its hazard category. The unit is a major hazard source when **S ≥ 1**.
//! - **R = α · Σ βᵢ·qᵢ/Qᵢ** and its grade (Table 6), only for a major hazard source:
//!   the standard grades major hazard sources, not every unit.
//!
//! Decisions are exact: every number is taken as the decimal it was written as and
//! summed as a rational (see `exact`), so S = 1 and R = 10, 50, 100 land on their
//! thresholds instead of a float's 0.9999999.
//!
//! Choices where the standard leaves room, each visible in the output:
//!
//! - **Several categories.** A chemical with several hazard categories takes the
//!   lowest Q among them (the standard's rule), and its β from the category that gave
//!   that Q, because β belongs to the hazard that sets the threshold. When two
//!   categories tie on Q the higher β is taken, the cautious reading.
//! - **Named chemicals.** Q always comes from Table 1. β comes from Table 3 for its
//!   toxic gases, else from Table 4 by category: the caller's `category` when given
//!   (process conditions such as W5.1 "above its boiling point" are the caller's to
//!   know), else Yingji's table of certain categories
//!   (`assets/standards/gb18218_table1_categories.csv`).
//! - **Unknown β.** β is only needed to grade. When a unit is not a major hazard
//!   source, a term whose β is unknown shows `beta: null` and no error is raised; when
//!   it is, the first such term is an error that says what to supply.
//! - **Overrides.** `critical_t` and `beta` replace the table values for one
//!   substance (old assessments, local rulings) and require an `override_reason`.
//!
//! JSON in (`Gb18218Input`):
//!
//! ```json
//! {"exposed_population": 60,
//!  "substances": [{"name": "二氧化硫", "quantity_t": 200},
//!                 {"cas": "67-56-1", "quantity_t": 50},
//!                 {"name": "某溶剂", "category": ["W5.3", "J5"], "quantity_t": 3,
//!                  "critical_t": 1000, "beta": 1, "override_reason": "2019 assessment"}]}
//! ```
//!
//! JSON out (`Gb18218Result`): `{"s", "is_major", "r" (null unless major), "grade"
//! (1–4, null unless major), "grade_zh", "alpha", "exposed_population", "terms": [{
//! "substance", "cas", "table1_seq", "quantity_t", "critical_t", "beta",
//! "q_over_critical", "beta_q_over_critical", "source" (table1|table2|override),
//! "beta_source" (table3|table4|override|null), "category", "category_source"
//! (input|yingji_table|null), "override_reason"}]}`.

mod exact;
mod tables;
#[cfg(test)]
mod tests;

use num_rational::BigRational;
use num_traits::{One, Signed, Zero};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use tables::{Category, Chemical};
use tables::{TABLES, Tables};

/// One unit to identify and grade.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Gb18218Input {
    /// Permanent residents within 500 m of the plant boundary (Table 5's α).
    /// Signed so that a negative number is this module's error, with its field,
    /// rather than an opaque deserialisation failure.
    pub exposed_population: i64,
    pub substances: Vec<SubstanceInput>,
}

/// One hazardous chemical in the unit.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubstanceInput {
    /// Chinese name, Table 1 alias or English name; also the label in the output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// CAS number; looked up before the name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cas: Option<String>,
    /// Design maximum quantity in the unit, tonnes.
    pub quantity_t: f64,
    /// Table 2 symbol(s) such as `"W5.3"` or `["W2", "J3"]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<CategoryInput>,
    /// Replaces Q; requires `override_reason`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub critical_t: Option<f64>,
    /// Replaces β; requires `override_reason`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beta: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub override_reason: Option<String>,
}

/// One Table 2 symbol or several.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum CategoryInput {
    One(String),
    Many(Vec<String>),
}

/// Where Q came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CriticalSource {
    Table1,
    Table2,
    Override,
}

/// Where β came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum BetaSource {
    Table3,
    Table4,
    Override,
}

/// Who named the category that was used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CategorySource {
    /// The caller's `category`.
    Input,
    /// Yingji's table of certain categories for Table 1 chemicals.
    YingjiTable,
}

/// The values used for one substance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Term {
    /// The caller's name, else Table 1's name, else the CAS number.
    pub substance: String,
    pub cas: Option<String>,
    /// The Table 1 row that matched, if any.
    pub table1_seq: Option<u16>,
    pub quantity_t: f64,
    pub critical_t: f64,
    /// `null` only when β is unknown and the unit is not a major hazard source.
    pub beta: Option<f64>,
    pub q_over_critical: f64,
    pub beta_q_over_critical: Option<f64>,
    pub source: CriticalSource,
    pub beta_source: Option<BetaSource>,
    /// The hazard category taken for this substance (the lowest-Q one when several
    /// were given). It set Q when `source` is `table2` and β when `beta_source` is
    /// `table4`; otherwise it is shown for the record only.
    pub category: Option<String>,
    pub category_source: Option<CategorySource>,
    pub override_reason: Option<String>,
}

/// Identification and, for a major hazard source, grading of one unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Gb18218Result {
    /// S = Σ q/Q (nearest float of the exact sum).
    pub s: f64,
    /// S ≥ 1, decided exactly.
    pub is_major: bool,
    /// R = α·Σ β·q/Q; `null` when the unit is not a major hazard source, because
    /// GB 18218 grades major hazard sources only.
    pub r: Option<f64>,
    /// 1 (一级, highest) to 4 (四级); `null` when not a major hazard source.
    pub grade: Option<u8>,
    pub grade_zh: Option<String>,
    pub alpha: f64,
    pub exposed_population: u64,
    pub terms: Vec<Term>,
}

/// Why an input cannot be evaluated. [`Gb18218Error::field`] names the input field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Gb18218Error {
    #[error("exposed_population must be 0 or more, got {0}")]
    NegativePopulation(i64),
    #[error("substances[{index}]: give the substance's name or CAS number")]
    MissingIdentifier { index: usize },
    #[error(
        "substances[{index}] ({label}): quantity_t must be a finite number of tonnes, 0 or more"
    )]
    InvalidQuantity { index: usize, label: String },
    #[error("substances[{index}] ({label}): critical_t must be a finite number of tonnes above 0")]
    InvalidCritical { index: usize, label: String },
    #[error("substances[{index}] ({label}): beta must be a finite number above 0")]
    InvalidBeta { index: usize, label: String },
    #[error(
        "substances[{index}] ({label}): {overridden} replaces the standard's value and needs a non-empty override_reason"
    )]
    OverrideWithoutReason {
        index: usize,
        label: String,
        overridden: &'static str,
    },
    #[error(
        "substances[{index}] ({label}): category is an empty list; give at least one GB 18218 Table 2 symbol such as \"W5.3\""
    )]
    EmptyCategories { index: usize, label: String },
    #[error(
        "substances[{index}] ({label}): \"{symbol}\" is not a GB 18218 Table 2 category (J1–J5, W1.1–W11)"
    )]
    UnknownCategory {
        index: usize,
        /// Position in a list of categories; `None` for a single string.
        position: Option<usize>,
        label: String,
        symbol: String,
    },
    #[error(
        "substances[{index}] ({label}) is not named in GB 18218 Table 1: give its hazard category (a Table 2 symbol such as \"W5.3\"), or critical_t and beta with an override_reason"
    )]
    UnknownSubstance {
        index: usize,
        label: String,
        /// `"name"` or `"cas"`: the identifier that was looked up.
        by: &'static str,
    },
    #[error(
        "substances[{index}] ({label}) matches several GB 18218 Table 1 rows: {candidates}; give the row's full name"
    )]
    AmbiguousSubstance {
        index: usize,
        label: String,
        by: &'static str,
        candidates: String,
    },
    #[error(
        "substances[{index}]: cas {cas} is GB 18218 Table 1 row {cas_seq} ({cas_name}) but name {name} is row {name_seq} ({name_name})"
    )]
    ConflictingIdentifiers {
        index: usize,
        cas: String,
        cas_seq: u16,
        cas_name: String,
        name: String,
        name_seq: u16,
        name_name: String,
    },
    #[error(
        "substances[{index}] ({label}): this unit is a major hazard source and grading needs β, but {label} is not a Table 3 toxic gas and its hazard category is not known; give its category (a Table 2 symbol such as \"W5.3\"), or beta with an override_reason"
    )]
    BetaUnknown { index: usize, label: String },
}

impl Gb18218Error {
    /// The input field at fault, JSON-path-like (`substances[2].category`), for a
    /// 422 answer's `field`.
    pub fn field(&self) -> String {
        use Gb18218Error::*;
        let at = |index: &usize, field: &str| format!("substances[{index}].{field}");
        match self {
            NegativePopulation(_) => "exposed_population".into(),
            MissingIdentifier { index } => at(index, "name"),
            InvalidQuantity { index, .. } => at(index, "quantity_t"),
            InvalidCritical { index, .. } => at(index, "critical_t"),
            InvalidBeta { index, .. } => at(index, "beta"),
            OverrideWithoutReason { index, .. } => at(index, "override_reason"),
            EmptyCategories { index, .. } => at(index, "category"),
            UnknownCategory {
                index, position, ..
            } => match position {
                Some(p) => format!("substances[{index}].category[{p}]"),
                None => at(index, "category"),
            },
            UnknownSubstance { index, by, .. } | AmbiguousSubstance { index, by, .. } => {
                at(index, by)
            }
            ConflictingIdentifiers { index, .. } => at(index, "name"),
            BetaUnknown { index, .. } => at(index, "category"),
        }
    }
}

impl From<Gb18218Error> for crate::error::ApiError {
    fn from(e: Gb18218Error) -> Self {
        crate::error::ApiError::validation(e.field(), e.to_string())
    }
}

/// The Table 1 chemical a query names: by CAS number, else by Chinese name, alias or
/// English name (case and full-width brackets do not matter). `None` when nothing
/// matches or several rows do (nitrocellulose's CAS is on six rows): use
/// [`find_chemicals`] to offer the choice.
pub fn find_chemical(query: &str) -> Option<&'static Chemical> {
    match find_chemicals(query).as_slice() {
        [one] => Some(one),
        _ => None,
    }
}

/// Every Table 1 chemical a query names, by CAS first, then by name or alias.
pub fn find_chemicals(query: &str) -> Vec<&'static Chemical> {
    let tables: &'static Tables = &TABLES;
    let by_cas = tables.chemicals_by_cas(query);
    if by_cas.is_empty() {
        tables.chemicals_by_name(query)
    } else {
        by_cas
    }
}

/// All Table 1 chemicals, in the standard's order.
pub fn chemicals() -> &'static [Chemical] {
    &TABLES.chemicals
}

/// The hazard categories of Table 2 with their Q and Table 4 β, in the standard's order.
pub fn categories() -> &'static [Category] {
    &TABLES.categories
}

/// A substance with everything looked up, before summing.
struct Resolved {
    term: Term,
    q_over_critical: BigRational,
    beta: Option<BigRational>,
}

/// Identifies the unit and, when it is a major hazard source, grades it.
pub fn evaluate(input: &Gb18218Input) -> Result<Gb18218Result, Gb18218Error> {
    let tables: &Tables = &TABLES;
    let population = u64::try_from(input.exposed_population)
        .map_err(|_| Gb18218Error::NegativePopulation(input.exposed_population))?;
    let alpha = tables.alpha_for(population);

    let resolved = input
        .substances
        .iter()
        .enumerate()
        .map(|(index, substance)| resolve(tables, index, substance))
        .collect::<Result<Vec<_>, _>>()?;

    let s: BigRational = resolved.iter().map(|r| &r.q_over_critical).sum();
    let is_major = s >= BigRational::one();

    let (r, grade) = if is_major {
        let mut weighted = BigRational::zero();
        for (index, term) in resolved.iter().enumerate() {
            let Some(beta) = &term.beta else {
                return Err(Gb18218Error::BetaUnknown {
                    index,
                    label: term.term.substance.clone(),
                });
            };
            weighted += beta * &term.q_over_critical;
        }
        let r = alpha * weighted;
        let grade = tables.grade_for(&r);
        (Some(r), grade)
    } else {
        (None, None)
    };

    Ok(Gb18218Result {
        s: exact::to_f64(&s),
        is_major,
        r: r.as_ref().map(exact::to_f64),
        grade: grade.map(|g| g.grade),
        grade_zh: grade.map(|g| g.label_zh.clone()),
        alpha: exact::to_f64(alpha),
        exposed_population: population,
        terms: resolved.into_iter().map(|r| r.term).collect(),
    })
}

fn non_empty(text: &Option<String>) -> Option<&str> {
    text.as_deref().map(str::trim).filter(|t| !t.is_empty())
}

fn resolve(
    tables: &Tables,
    index: usize,
    input: &SubstanceInput,
) -> Result<Resolved, Gb18218Error> {
    let name = non_empty(&input.name);
    let cas = non_empty(&input.cas);
    let label = match (name, cas) {
        (Some(name), _) => name.to_string(),
        (None, Some(cas)) => cas.to_string(),
        (None, None) => return Err(Gb18218Error::MissingIdentifier { index }),
    };

    let quantity = exact::from_f64(input.quantity_t)
        .filter(|q| !q.is_negative())
        .ok_or_else(|| Gb18218Error::InvalidQuantity {
            index,
            label: label.clone(),
        })?;

    let reason = non_empty(&input.override_reason);
    let needs_reason = |overridden| Gb18218Error::OverrideWithoutReason {
        index,
        label: label.clone(),
        overridden,
    };
    let critical_override = match input.critical_t {
        None => None,
        Some(_) if reason.is_none() => return Err(needs_reason("critical_t")),
        Some(v) => Some(
            exact::from_f64(v)
                .filter(|v| v.is_positive())
                .ok_or_else(|| Gb18218Error::InvalidCritical {
                    index,
                    label: label.clone(),
                })?,
        ),
    };
    let beta_override = match input.beta {
        None => None,
        Some(_) if reason.is_none() => return Err(needs_reason("beta")),
        Some(v) => Some(
            exact::from_f64(v)
                .filter(|v| v.is_positive())
                .ok_or_else(|| Gb18218Error::InvalidBeta {
                    index,
                    label: label.clone(),
                })?,
        ),
    };

    let given_categories = parse_categories(tables, index, &label, input.category.as_ref())?;
    let chemical = find_in_table1(tables, index, &label, name, cas)?;

    // The category that sets Q (unnamed chemicals) or β (named ones): the caller's,
    // else Yingji's certain category for a Table 1 row.
    let category: Option<(&Category, CategorySource)> = lowest_critical(&given_categories)
        .map(|c| (c, CategorySource::Input))
        .or_else(|| {
            chemical
                .and_then(|c| c.category.as_deref())
                .and_then(|symbol| tables.category(symbol))
                .map(|c| (c, CategorySource::YingjiTable))
        });

    let (critical, source) = match (&critical_override, chemical, category) {
        (Some(q), _, _) => (q.clone(), CriticalSource::Override),
        (None, Some(chemical), _) => (chemical.critical.clone(), CriticalSource::Table1),
        (None, None, Some((category, _))) => (category.critical.clone(), CriticalSource::Table2),
        (None, None, None) => {
            return Err(Gb18218Error::UnknownSubstance {
                index,
                label,
                by: if name.is_some() { "name" } else { "cas" },
            });
        }
    };

    let toxic_gas_beta = match chemical {
        Some(chemical) => chemical.toxic_gas_beta_exact.clone(),
        None => tables.toxic_gas(cas, name).map(|g| g.beta.clone()),
    };
    let (beta, beta_source) = match (beta_override, toxic_gas_beta, category) {
        (Some(beta), _, _) => (Some(beta), Some(BetaSource::Override)),
        (None, Some(beta), _) => (Some(beta), Some(BetaSource::Table3)),
        (None, None, Some((category, _))) => {
            (Some(category.beta_exact.clone()), Some(BetaSource::Table4))
        }
        (None, None, None) => (None, None),
    };

    // Q is never zero: table values are positive and overrides are checked above.
    let q_over_critical = &quantity / &critical;
    let beta_q_over_critical = beta.as_ref().map(|b| b * &q_over_critical);
    let overridden = critical_override.is_some() || input.beta.is_some();

    let term = Term {
        substance: name
            .map(str::to_string)
            .or_else(|| chemical.map(|c| c.name_zh.clone()))
            .unwrap_or_else(|| label.clone()),
        cas: cas
            .map(str::to_string)
            .or_else(|| chemical.map(|c| c.cas.join(";")).filter(|c| !c.is_empty())),
        table1_seq: chemical.map(|c| c.seq),
        quantity_t: input.quantity_t,
        critical_t: exact::to_f64(&critical),
        beta: beta.as_ref().map(exact::to_f64),
        q_over_critical: exact::to_f64(&q_over_critical),
        beta_q_over_critical: beta_q_over_critical.as_ref().map(exact::to_f64),
        source,
        beta_source,
        category: category.map(|(c, _)| c.symbol.clone()),
        category_source: category.map(|(_, s)| s),
        override_reason: reason.filter(|_| overridden).map(str::to_string),
    };
    Ok(Resolved {
        term,
        q_over_critical,
        beta,
    })
}

fn parse_categories<'t>(
    tables: &'t Tables,
    index: usize,
    label: &str,
    input: Option<&CategoryInput>,
) -> Result<Vec<&'t Category>, Gb18218Error> {
    let unknown = |position, symbol: &str| Gb18218Error::UnknownCategory {
        index,
        position,
        label: label.to_string(),
        symbol: symbol.to_string(),
    };
    match input {
        None => Ok(Vec::new()),
        Some(CategoryInput::One(symbol)) => tables
            .category(symbol)
            .map(|c| vec![c])
            .ok_or_else(|| unknown(None, symbol)),
        Some(CategoryInput::Many(symbols)) if symbols.is_empty() => {
            Err(Gb18218Error::EmptyCategories {
                index,
                label: label.to_string(),
            })
        }
        Some(CategoryInput::Many(symbols)) => symbols
            .iter()
            .enumerate()
            .map(|(p, symbol)| {
                tables
                    .category(symbol)
                    .ok_or_else(|| unknown(Some(p), symbol))
            })
            .collect(),
    }
}

/// The category with the lowest Q; on a tie, the higher β (the cautious reading).
fn lowest_critical<'t>(categories: &[&'t Category]) -> Option<&'t Category> {
    categories.iter().copied().min_by(|a, b| {
        a.critical
            .cmp(&b.critical)
            .then_with(|| b.beta_exact.cmp(&a.beta_exact))
    })
}

/// Looks a substance up in Table 1: by CAS first, then by name. A CAS shared by
/// several rows is narrowed by the name; a CAS and a name naming different rows is
/// an error rather than a silent choice.
fn find_in_table1<'t>(
    tables: &'t Tables,
    index: usize,
    label: &str,
    name: Option<&str>,
    cas: Option<&str>,
) -> Result<Option<&'t Chemical>, Gb18218Error> {
    let by_name = name
        .map(|n| tables.chemicals_by_name(n))
        .unwrap_or_default();
    let by_cas = cas.map(|c| tables.chemicals_by_cas(c)).unwrap_or_default();
    let ambiguous = |by, rows: &[&Chemical]| Gb18218Error::AmbiguousSubstance {
        index,
        label: label.to_string(),
        by,
        candidates: rows
            .iter()
            .map(|c| format!("{} (row {})", c.name_zh, c.seq))
            .collect::<Vec<_>>()
            .join(", "),
    };
    match (by_cas.as_slice(), by_name.as_slice()) {
        ([], []) => Ok(None),
        ([], [one]) => Ok(Some(one)),
        ([], several) => Err(ambiguous("name", several)),
        ([one], named) => match named.first() {
            Some(other) if !named.iter().any(|c| c.seq == one.seq) => {
                Err(Gb18218Error::ConflictingIdentifiers {
                    index,
                    cas: cas.unwrap_or_default().to_string(),
                    cas_seq: one.seq,
                    cas_name: one.name_zh.clone(),
                    name: name.unwrap_or_default().to_string(),
                    name_seq: other.seq,
                    name_name: other.name_zh.clone(),
                })
            }
            _ => Ok(Some(one)),
        },
        (several, named) => {
            let both: Vec<&Chemical> = several
                .iter()
                .copied()
                .filter(|c| named.iter().any(|n| n.seq == c.seq))
                .collect();
            match both.as_slice() {
                [one] => Ok(Some(one)),
                [] => Err(ambiguous("cas", several)),
                _ => Err(ambiguous("name", &both)),
            }
        }
    }
}
