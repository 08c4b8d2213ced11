//! The embedded GB 18218-2018 tables, parsed once.
//!
//! The CSV files in `assets/standards/` are compiled in, so the rules need no file
//! system; `assets/standards/SOURCES.md` says where each value comes from.

use std::collections::HashMap;
use std::sync::LazyLock;

use num_rational::BigRational;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::exact;

const TABLE1_CSV: &str = include_str!("../../../assets/standards/gb18218_table1.csv");
const TABLE2_CSV: &str = include_str!("../../../assets/standards/gb18218_table2.csv");
const BETA_CSV: &str = include_str!("../../../assets/standards/gb18218_beta.csv");
const ALPHA_CSV: &str = include_str!("../../../assets/standards/gb18218_alpha.csv");
const GRADES_CSV: &str = include_str!("../../../assets/standards/gb18218_grades.csv");
const CATEGORIES_CSV: &str =
    include_str!("../../../assets/standards/gb18218_table1_categories.csv");
const ALIASES_CSV: &str = include_str!("../../../assets/standards/gb18218_table1_aliases.csv");

/// A chemical named in GB 18218-2018 Table 1.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Chemical {
    /// Row number in Table 1 (1–85).
    pub seq: u16,
    pub name_zh: String,
    /// Table 1's aliases, then Yingji's extra aliases (`gb18218_table1_aliases.csv`).
    pub aliases_zh: Vec<String>,
    pub name_en: String,
    /// Zero, one or several CAS numbers: some rows are mixtures or families.
    pub cas: Vec<String>,
    /// Critical quantity Q in tonnes.
    pub critical_t: f64,
    /// β from Table 3 when this chemical is one of its toxic gases.
    pub toxic_gas_beta: Option<f64>,
    /// Table 2 category from Yingji's own table, only where the GHS class is certain.
    pub category: Option<String>,
    pub category_basis: Option<String>,
    #[serde(skip)]
    pub(crate) critical: BigRational,
    #[serde(skip)]
    pub(crate) toxic_gas_beta_exact: Option<BigRational>,
}

/// A hazard category of GB 18218-2018 Table 2, with its β from Table 4.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Category {
    /// `J1`–`J5`, `W1.1`–`W11`.
    pub symbol: String,
    /// 健康危害 or 物理危险.
    pub group: String,
    pub category_zh: String,
    pub description_zh: String,
    /// Critical quantity Q in tonnes.
    pub critical_t: f64,
    /// β of Table 4.
    pub beta: f64,
    #[serde(skip)]
    pub(crate) critical: BigRational,
    #[serde(skip)]
    pub(crate) beta_exact: BigRational,
}

/// A toxic gas of Table 3 with its β.
#[derive(Debug, Clone)]
pub(crate) struct ToxicGas {
    pub key: String,
    pub name_en: String,
    pub cas: String,
    pub beta: BigRational,
}

/// One row of Table 5: α for a range of exposed residents.
#[derive(Debug, Clone)]
pub(crate) struct AlphaBand {
    pub min: u64,
    /// `None`: no upper bound.
    pub max: Option<u64>,
    pub alpha: BigRational,
}

/// One row of Table 6: a grade and its half-open range of R.
#[derive(Debug, Clone)]
pub(crate) struct GradeBand {
    pub grade: u8,
    pub label_zh: String,
    pub min_inclusive: Option<BigRational>,
    pub max_exclusive: Option<BigRational>,
}

pub(crate) struct Tables {
    pub chemicals: Vec<Chemical>,
    pub categories: Vec<Category>,
    pub toxic_gases: Vec<ToxicGas>,
    pub alpha: Vec<AlphaBand>,
    pub grades: Vec<GradeBand>,
    by_cas: HashMap<String, Vec<usize>>,
    by_name: HashMap<String, Vec<usize>>,
}

/// The tables are compiled in, so a parse failure is a build defect: the unit test
/// `every_embedded_row_parses` catches it before anything ships.
pub(crate) static TABLES: LazyLock<Tables> = LazyLock::new(|| {
    Tables::load().unwrap_or_else(|e| panic!("embedded GB 18218 table is malformed: {e}"))
});

/// Normalises a name for look-up: people type full-width brackets and stray spaces,
/// and English names in any case.
pub(crate) fn name_key(name: &str) -> String {
    name.chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '（' => '(',
            '）' => ')',
            '［' => '[',
            '］' => ']',
            '，' => ',',
            '；' => ';',
            other => other,
        })
        .flat_map(char::to_lowercase)
        .collect()
}

pub(crate) fn cas_key(cas: &str) -> String {
    cas.trim().to_string()
}

fn decimal(field: &str, text: &str) -> Result<BigRational, String> {
    exact::parse_decimal(text).ok_or_else(|| format!("{field}: {text:?} is not a decimal"))
}

fn rows<T: for<'de> Deserialize<'de>>(file: &str, csv_text: &str) -> Result<Vec<T>, String> {
    csv::Reader::from_reader(csv_text.as_bytes())
        .deserialize()
        .enumerate()
        .map(|(i, row)| row.map_err(|e| format!("{file} data row {}: {e}", i + 1)))
        .collect()
}

struct Table1Row {
    seq: u16,
    name_zh: String,
    alias_zh: String,
    name_en: String,
    cas: String,
    critical_tonnes: String,
}

/// Table 1 is read by position: its `source` cell holds unquoted commas, so each line
/// has 10 fields under an 8-field header. The file stays an unchanged copy of the
/// shared one; only the first six fields matter here and they are quoted properly.
fn table1_rows() -> Result<Vec<Table1Row>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(TABLE1_CSV.as_bytes());
    let expected = [
        "seq",
        "name_zh",
        "alias_zh",
        "name_en",
        "cas",
        "critical_tonnes",
    ];
    let headers = reader
        .headers()
        .map_err(|e| format!("gb18218_table1.csv: {e}"))?;
    if headers.iter().take(expected.len()).ne(expected) {
        return Err("gb18218_table1.csv: unexpected header".into());
    }
    reader
        .records()
        .enumerate()
        .map(|(i, record)| {
            let at = |e: String| format!("gb18218_table1.csv data row {}: {e}", i + 1);
            let record = record.map_err(|e| at(e.to_string()))?;
            if record.len() < 8 {
                return Err(at(format!("{} fields, expected at least 8", record.len())));
            }
            let field = |n: usize| record.get(n).unwrap_or_default().to_string();
            Ok(Table1Row {
                seq: field(0).parse().map_err(|e| at(format!("seq: {e}")))?,
                name_zh: field(1),
                alias_zh: field(2),
                name_en: field(3),
                cas: field(4),
                critical_tonnes: field(5),
            })
        })
        .collect()
}

#[derive(Deserialize)]
struct Table2Row {
    symbol: String,
    group: String,
    category_zh: String,
    description_zh: String,
    critical_tonnes: String,
    beta_table4: String,
}

#[derive(Deserialize)]
struct BetaRow {
    source_table: String,
    key: String,
    name_en: String,
    cas: String,
    beta: String,
}

#[derive(Deserialize)]
struct AlphaRow {
    population_min: u64,
    population_max: Option<u64>,
    alpha: String,
}

#[derive(Deserialize)]
struct GradeRow {
    grade_zh: String,
    grade_num: u8,
    r_min_inclusive: Option<String>,
    r_max_exclusive: Option<String>,
}

#[derive(Deserialize)]
struct CategoryRow {
    seq: u16,
    cas: String,
    name_zh: String,
    category: String,
    basis: String,
}

#[derive(Deserialize)]
struct AliasRow {
    seq: u16,
    alias: String,
}

fn split_list(cell: &str) -> Vec<String> {
    cell.split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

impl Tables {
    fn load() -> Result<Tables, String> {
        let categories = rows::<Table2Row>("gb18218_table2.csv", TABLE2_CSV)?
            .into_iter()
            .map(|r| {
                let critical = decimal("critical_tonnes", &r.critical_tonnes)?;
                let beta_exact = decimal("beta_table4", &r.beta_table4)?;
                Ok(Category {
                    critical_t: exact::to_f64(&critical),
                    beta: exact::to_f64(&beta_exact),
                    symbol: r.symbol,
                    group: r.group,
                    category_zh: r.category_zh,
                    description_zh: r.description_zh,
                    critical,
                    beta_exact,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;

        let mut toxic_gases = Vec::new();
        for r in rows::<BetaRow>("gb18218_beta.csv", BETA_CSV)? {
            let beta = decimal("beta", &r.beta)?;
            match r.source_table.as_str() {
                "table3_toxic_gas" => toxic_gases.push(ToxicGas {
                    key: r.key,
                    name_en: r.name_en,
                    cas: r.cas,
                    beta,
                }),
                // Table 4 repeats Table 2's β column; the two must agree.
                "table4_category" => {
                    let category = categories
                        .iter()
                        .find(|c| c.symbol == r.key)
                        .ok_or_else(|| format!("Table 4 category {} not in Table 2", r.key))?;
                    if category.beta_exact != beta {
                        return Err(format!("Table 4 β of {} disagrees with Table 2", r.key));
                    }
                }
                other => return Err(format!("gb18218_beta.csv: unknown source_table {other}")),
            }
        }

        let mut chemicals = table1_rows()?
            .into_iter()
            .map(|r| {
                let critical = decimal("critical_tonnes", &r.critical_tonnes)?;
                Ok(Chemical {
                    seq: r.seq,
                    critical_t: exact::to_f64(&critical),
                    aliases_zh: split_list(&r.alias_zh),
                    cas: split_list(&r.cas),
                    name_zh: r.name_zh,
                    name_en: r.name_en,
                    toxic_gas_beta: None,
                    category: None,
                    category_basis: None,
                    critical,
                    toxic_gas_beta_exact: None,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;

        for r in rows::<AliasRow>("gb18218_table1_aliases.csv", ALIASES_CSV)? {
            let chemical = chemicals
                .iter_mut()
                .find(|c| c.seq == r.seq)
                .ok_or_else(|| format!("alias {} names unknown Table 1 row {}", r.alias, r.seq))?;
            chemical.aliases_zh.push(r.alias);
        }

        for r in rows::<CategoryRow>("gb18218_table1_categories.csv", CATEGORIES_CSV)? {
            if !categories.iter().any(|c| c.symbol == r.category) {
                return Err(format!(
                    "row {}: {} is not a Table 2 category",
                    r.seq, r.category
                ));
            }
            let chemical = chemicals
                .iter_mut()
                .find(|c| c.seq == r.seq)
                .ok_or_else(|| format!("category for unknown Table 1 row {}", r.seq))?;
            // cas and name_zh are repeated for human readers; a mismatch means the
            // row number points at the wrong chemical.
            if chemical.cas.join(";") != r.cas || chemical.name_zh != r.name_zh {
                return Err(format!("category row {} does not match Table 1", r.seq));
            }
            chemical.category = Some(r.category);
            chemical.category_basis = Some(r.basis);
        }

        for chemical in &mut chemicals {
            let names: Vec<String> = std::iter::once(&chemical.name_zh)
                .chain(&chemical.aliases_zh)
                .map(|n| name_key(n))
                .collect();
            let gas = toxic_gases
                .iter()
                .find(|g| chemical.cas.contains(&g.cas) || names.contains(&name_key(&g.key)));
            if let Some(gas) = gas {
                chemical.toxic_gas_beta = Some(exact::to_f64(&gas.beta));
                chemical.toxic_gas_beta_exact = Some(gas.beta.clone());
            }
        }

        let alpha = rows::<AlphaRow>("gb18218_alpha.csv", ALPHA_CSV)?
            .into_iter()
            .map(|r| {
                Ok(AlphaBand {
                    min: r.population_min,
                    max: r.population_max,
                    alpha: decimal("alpha", &r.alpha)?,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        check_alpha_bands(&alpha)?;

        let grades = rows::<GradeRow>("gb18218_grades.csv", GRADES_CSV)?
            .into_iter()
            .map(|r| {
                let bound = |t: &Option<String>| t.as_deref().map(|t| decimal("r", t)).transpose();
                Ok(GradeBand {
                    grade: r.grade_num,
                    min_inclusive: bound(&r.r_min_inclusive)?,
                    max_exclusive: bound(&r.r_max_exclusive)?,
                    label_zh: r.grade_zh,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;

        let mut by_cas: HashMap<String, Vec<usize>> = HashMap::new();
        let mut by_name: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, c) in chemicals.iter().enumerate() {
            for cas in &c.cas {
                by_cas.entry(cas_key(cas)).or_default().push(i);
            }
            let names = std::iter::once(&c.name_zh)
                .chain(&c.aliases_zh)
                .chain(std::iter::once(&c.name_en));
            for name in names {
                let list = by_name.entry(name_key(name)).or_default();
                // A row may list the same alias twice after normalisation.
                if !list.contains(&i) {
                    list.push(i);
                }
            }
        }

        Ok(Tables {
            chemicals,
            categories,
            toxic_gases,
            alpha,
            grades,
            by_cas,
            by_name,
        })
    }

    /// Table 1 rows with this CAS number (several rows share one, e.g. nitrocellulose).
    pub fn chemicals_by_cas(&self, cas: &str) -> Vec<&Chemical> {
        self.lookup(&self.by_cas, &cas_key(cas))
    }

    /// Table 1 rows with this Chinese name, alias or English name.
    pub fn chemicals_by_name(&self, name: &str) -> Vec<&Chemical> {
        self.lookup(&self.by_name, &name_key(name))
    }

    fn lookup(&self, index: &HashMap<String, Vec<usize>>, key: &str) -> Vec<&Chemical> {
        index
            .get(key)
            .map(|rows| rows.iter().map(|&i| &self.chemicals[i]).collect())
            .unwrap_or_default()
    }

    pub fn category(&self, symbol: &str) -> Option<&Category> {
        let wanted = symbol.trim().to_uppercase();
        self.categories.iter().find(|c| c.symbol == wanted)
    }

    /// Table 3 β of a substance not found in Table 1 (carbon monoxide is the one such gas).
    pub fn toxic_gas(&self, cas: Option<&str>, name: Option<&str>) -> Option<&ToxicGas> {
        let cas = cas.map(cas_key);
        let name = name.map(name_key);
        self.toxic_gases.iter().find(|g| {
            cas.as_deref() == Some(g.cas.as_str())
                || name.as_deref() == Some(name_key(&g.key).as_str())
                || name.as_deref() == Some(name_key(&g.name_en).as_str())
        })
    }

    pub fn alpha_for(&self, population: u64) -> &BigRational {
        &self
            .alpha
            .iter()
            .find(|b| b.min <= population && b.max.is_none_or(|max| population <= max))
            .expect("alpha bands cover every population; checked when the table is loaded")
            .alpha
    }

    pub fn grade_for(&self, r: &BigRational) -> Option<&GradeBand> {
        self.grades.iter().find(|g| {
            g.min_inclusive.as_ref().is_none_or(|min| r >= min)
                && g.max_exclusive.as_ref().is_none_or(|max| r < max)
        })
    }
}

/// Table 5 must cover 0, 1, 2, … with no gap or overlap, so that every population
/// has exactly one α.
fn check_alpha_bands(bands: &[AlphaBand]) -> Result<(), String> {
    let mut sorted: Vec<&AlphaBand> = bands.iter().collect();
    sorted.sort_by_key(|b| b.min);
    let mut next = 0u64;
    for (i, band) in sorted.iter().enumerate() {
        if band.min != next {
            return Err(format!("alpha bands: expected a band from {next}"));
        }
        match band.max {
            Some(max) if max >= band.min => next = max + 1,
            None if i + 1 == sorted.len() => return Ok(()),
            _ => return Err(format!("alpha band from {} is malformed", band.min)),
        }
    }
    Err("alpha bands: the last band must be open-ended".into())
}
