//! Import and export of enterprises and facilities. One column list per record type serves
//! both directions, so an export always imports back.
//!
//! Import is validate-everything-first: every row is parsed and checked, and the answer lists
//! each bad row with its line and reason. Nothing is written unless the whole file is valid,
//! or, with `skip_invalid`, the valid rows are written in one transaction.

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use utoipa::ToSchema;

use super::model::{EnterpriseInput, FacilityInput, FacilityKind, HazardFlag, Scale};
use super::rules::{self, FieldError};
use super::store::{self, EnterpriseFilter, FacilityFilter};
use super::table::{self, Format, Table, TableError};
use crate::audit::{self, Actor};
use crate::auth::Scope;
use crate::db::{Db, DbError};

/// One column of an import/export file: the API field name and the Chinese header.
/// Import accepts either as the header (and a few aliases).
struct Column {
    key: &'static str,
    zh: &'static str,
    aliases: &'static [&'static str],
}

const ENTERPRISE_COLUMNS: &[Column] = &[
    Column { key: "credit_code", zh: "统一社会信用代码", aliases: &["信用代码", "社会信用代码"] },
    Column { key: "name", zh: "企业名称", aliases: &["名称", "单位名称"] },
    Column { key: "town_code", zh: "镇街代码", aliases: &["区划代码"] },
    Column { key: "town_name", zh: "镇街", aliases: &["所属镇街", "镇街园区", "town"] },
    Column { key: "address", zh: "地址", aliases: &["详细地址", "注册地址"] },
    Column { key: "lon", zh: "经度", aliases: &["longitude"] },
    Column { key: "lat", zh: "纬度", aliases: &["latitude"] },
    Column { key: "industry_section", zh: "行业门类", aliases: &["门类"] },
    Column { key: "industry_division", zh: "行业大类", aliases: &["大类"] },
    Column { key: "industry_name", zh: "行业名称", aliases: &[] },
    Column { key: "scale", zh: "规模", aliases: &["企业规模"] },
    Column { key: "staff_count", zh: "从业人数", aliases: &["职工人数", "员工人数"] },
    Column { key: "legal_rep", zh: "法定代表人", aliases: &["法人"] },
    Column { key: "safety_manager", zh: "安全负责人", aliases: &["安全管理人员"] },
    Column { key: "safety_phone", zh: "安全负责人电话", aliases: &["联系电话", "电话"] },
    Column { key: "flags", zh: "风险标签", aliases: &["行业领域", "标签"] },
];

const FACILITY_COLUMNS: &[Column] = &[
    Column { key: "name", zh: "名称", aliases: &["设施名称", "单位名称"] },
    Column { key: "kind", zh: "类型", aliases: &["设施类型"] },
    Column { key: "town_code", zh: "镇街代码", aliases: &["区划代码"] },
    Column { key: "town_name", zh: "镇街", aliases: &["所属镇街", "town"] },
    Column { key: "address", zh: "地址", aliases: &["详细地址"] },
    Column { key: "lon", zh: "经度", aliases: &["longitude"] },
    Column { key: "lat", zh: "纬度", aliases: &["latitude"] },
    Column { key: "people", zh: "人数", aliases: &["容纳人数", "床位数"] },
];

/// A rejected row: its line in the file (header = line 1), the field and the reason.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct RowError {
    pub line: u64,
    pub field: Option<String>,
    pub message: String,
}

#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct ImportReport {
    /// Rows written (inserted + updated).
    pub written: usize,
    pub inserted: usize,
    /// Rows that matched an existing record (enterprises by credit code, facilities by
    /// town and name) and replaced its fields.
    pub updated: usize,
    /// Data rows in the file.
    pub total_rows: usize,
    pub rejected: Vec<RowError>,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Table(#[from] TableError),
    #[error("missing column {0}")]
    MissingColumn(String),
    #[error("{} of {} rows are invalid; nothing was written", .0.rejected.len(), .0.total_rows)]
    InvalidRows(ImportReport),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Which field each header cell holds; unknown headers are ignored.
fn map_headers(headers: &[String], columns: &[Column]) -> HashMap<&'static str, usize> {
    let mut map = HashMap::new();
    for (i, h) in headers.iter().enumerate() {
        let h = h.trim().trim_start_matches('\u{feff}');
        let hl = h.to_lowercase();
        if let Some(c) = columns.iter().find(|c| c.key == hl || c.zh == h || c.aliases.contains(&h)) {
            map.entry(c.key).or_insert(i);
        }
    }
    map
}

struct RowReader<'a> {
    cols: &'a HashMap<&'static str, usize>,
    cells: &'a [String],
}

impl RowReader<'_> {
    fn text(&self, key: &str) -> String {
        self.cols.get(key).and_then(|i| self.cells.get(*i)).map(|s| s.trim().to_string()).unwrap_or_default()
    }

    fn opt_f64(&self, key: &str) -> Result<Option<f64>, FieldError> {
        let t = self.text(key);
        if t.is_empty() {
            return Ok(None);
        }
        t.parse::<f64>().map(Some).map_err(|_| FieldError::new(key, format!("{t:?} is not a number")))
    }

    fn opt_i64(&self, key: &str) -> Result<Option<i64>, FieldError> {
        let t = self.text(key);
        if t.is_empty() {
            return Ok(None);
        }
        t.parse::<i64>().map(Some).map_err(|_| FieldError::new(key, format!("{t:?} is not a whole number")))
    }

    /// The township code, given as a code or by name.
    fn town(&self, towns_by_name: &HashMap<String, String>) -> Result<String, FieldError> {
        let code = self.text("town_code");
        if !code.is_empty() {
            return Ok(code);
        }
        let name = self.text("town_name");
        if name.is_empty() {
            return Err(FieldError::new("town_code", "either a township code or a township name is required"));
        }
        towns_by_name
            .get(&name)
            .cloned()
            .ok_or_else(|| FieldError::new("town_name", format!("{name} is not a township of the district")))
    }
}

fn split_list(s: &str) -> impl Iterator<Item = &str> {
    s.split([',', '，', ';', '；', '、', '|']).map(str::trim).filter(|x| !x.is_empty())
}

fn enterprise_from_row(r: &RowReader, towns_by_name: &HashMap<String, String>) -> Result<EnterpriseInput, FieldError> {
    let scale_text = r.text("scale");
    let scale = if scale_text.is_empty() {
        Scale::Below
    } else {
        Scale::parse(&scale_text).ok_or_else(|| FieldError::new("scale", format!("{scale_text:?}: expected above/below or 规模以上/规模以下")))?
    };
    let mut flags = Vec::new();
    for f in split_list(&r.text("flags")) {
        flags.push(HazardFlag::parse(f).ok_or_else(|| FieldError::new("flags", format!("unknown hazard flag {f:?}")))?);
    }
    let division = r.text("industry_division");
    Ok(EnterpriseInput {
        credit_code: r.text("credit_code"),
        name: r.text("name"),
        town_code: r.town(towns_by_name)?,
        address: r.text("address"),
        lon: r.opt_f64("lon")?,
        lat: r.opt_f64("lat")?,
        industry_section: r.text("industry_section"),
        industry_division: if division.is_empty() { None } else { Some(division) },
        scale,
        staff_count: r.opt_i64("staff_count")?,
        legal_rep: r.text("legal_rep"),
        safety_manager: r.text("safety_manager"),
        safety_phone: r.text("safety_phone"),
        flags,
    })
}

fn facility_from_row(r: &RowReader, towns_by_name: &HashMap<String, String>) -> Result<FacilityInput, FieldError> {
    let kind_text = r.text("kind");
    let kind = FacilityKind::parse(&kind_text)
        .ok_or_else(|| FieldError::new("kind", format!("{kind_text:?}: expected school/hospital/elderly_home/market or 学校/医院/养老机构/商场市场")))?;
    Ok(FacilityInput {
        name: r.text("name"),
        kind,
        town_code: r.town(towns_by_name)?,
        address: r.text("address"),
        lon: r.opt_f64("lon")?,
        lat: r.opt_f64("lat")?,
        people: r.opt_i64("people")?,
    })
}

fn check_required_columns(cols: &HashMap<&'static str, usize>, required: &[&str]) -> Result<(), ImportError> {
    for key in required {
        if !cols.contains_key(key) {
            return Err(ImportError::MissingColumn((*key).to_string()));
        }
    }
    if !cols.contains_key("town_code") && !cols.contains_key("town_name") {
        return Err(ImportError::MissingColumn("town_code (镇街代码) or town_name (镇街)".into()));
    }
    Ok(())
}

/// Parses and validates every row; returns the valid records with their lines, and the errors.
fn validate_rows<T>(
    table: &Table,
    columns: &[Column],
    required: &[&str],
    towns: &HashSet<String>,
    towns_by_name: &HashMap<String, String>,
    scope: &Scope,
    parse: impl Fn(&RowReader, &HashMap<String, String>) -> Result<T, FieldError>,
    validate: impl Fn(&T, &HashSet<String>) -> Result<T, FieldError>,
    town_of: impl Fn(&T) -> &str,
    key_of: impl Fn(&T) -> String,
) -> Result<(Vec<(u64, T)>, Vec<RowError>), ImportError> {
    let cols = map_headers(&table.headers, columns);
    check_required_columns(&cols, required)?;
    let mut valid = Vec::new();
    let mut rejected = Vec::new();
    let mut seen: HashMap<String, u64> = HashMap::new();
    for (line, cells) in &table.rows {
        let reader = RowReader { cols: &cols, cells };
        let result = parse(&reader, towns_by_name)
            .and_then(|v| validate(&v, towns))
            .and_then(|v| {
                if !scope.allows(town_of(&v), None) && !matches!(scope, Scope::District) {
                    return Err(FieldError::new("town_code", "outside the township you may edit"));
                }
                if let Some(first) = seen.insert(key_of(&v), *line) {
                    return Err(FieldError::new(columns[0].key, format!("duplicates line {first}")));
                }
                Ok(v)
            });
        match result {
            Ok(v) => valid.push((*line, v)),
            Err(e) => rejected.push(RowError { line: *line, field: Some(e.field), message: e.message }),
        }
    }
    Ok((valid, rejected))
}

async fn town_lookups(db: &Db) -> Result<(HashSet<String>, HashMap<String, String>), DbError> {
    let towns = store::town_codes(db).await?;
    let by_name = store::town_names(db).await?.into_iter().collect();
    Ok((towns, by_name))
}

pub async fn import_enterprises(
    db: &Db,
    actor: &Actor,
    scope: &Scope,
    file_name: Option<&str>,
    bytes: &[u8],
    skip_invalid: bool,
) -> Result<ImportReport, ImportError> {
    let table = table::read(Format::detect(file_name, bytes)?, bytes)?;
    let (towns, by_name) = town_lookups(db).await?;
    let (valid, mut rejected) = validate_rows(
        &table,
        ENTERPRISE_COLUMNS,
        &["credit_code", "name", "industry_section"],
        &towns,
        &by_name,
        scope,
        enterprise_from_row,
        rules::enterprise,
        |e| e.town_code.as_str(),
        |e| e.credit_code.clone(),
    )?;
    let mut report = ImportReport { written: 0, inserted: 0, updated: 0, total_rows: table.rows.len(), rejected: Vec::new() };
    if !rejected.is_empty() && !skip_invalid {
        report.rejected = rejected;
        return Err(ImportError::InvalidRows(report));
    }
    let mut tx = db.begin().await?;
    for (line, e) in valid {
        match store::enterprise_id_by_credit_code(&mut tx, &e.credit_code).await? {
            Some(id) => {
                let before = store::get_enterprise_tx(&mut tx, &id).await?;
                if let Some(b) = before.as_ref().filter(|b| !scope.allows(&b.town_code, Some(&b.id))) {
                    rejected.push(RowError {
                        line,
                        field: Some("credit_code".into()),
                        message: format!("belongs to an enterprise of {} outside the township you may edit", b.town_name),
                    });
                    continue;
                }
                store::update_enterprise(&mut tx, &id, &e).await?;
                let after = store::get_enterprise_tx(&mut tx, &id).await?;
                audit::record(&mut tx, actor, "enterprise", &id, "import", json(&before).as_ref(), json(&after).as_ref()).await?;
                report.updated += 1;
            }
            None => {
                let id = crate::db::new_id();
                store::insert_enterprise(&mut tx, &id, &e).await?;
                let after = store::get_enterprise_tx(&mut tx, &id).await?;
                audit::record(&mut tx, actor, "enterprise", &id, "import", None, json(&after).as_ref()).await?;
                report.inserted += 1;
            }
        }
    }
    rejected.sort_by_key(|r| r.line);
    report.rejected = rejected;
    if !report.rejected.is_empty() && !skip_invalid {
        // Rows refused only at write time (scope of an existing record): still all or nothing.
        return Err(ImportError::InvalidRows(ImportReport { written: 0, inserted: 0, updated: 0, ..report }));
    }
    tx.commit().await?;
    report.written = report.inserted + report.updated;
    Ok(report)
}

pub async fn import_facilities(
    db: &Db,
    actor: &Actor,
    scope: &Scope,
    file_name: Option<&str>,
    bytes: &[u8],
    skip_invalid: bool,
) -> Result<ImportReport, ImportError> {
    let table = table::read(Format::detect(file_name, bytes)?, bytes)?;
    let (towns, by_name) = town_lookups(db).await?;
    let (valid, rejected) = validate_rows(
        &table,
        FACILITY_COLUMNS,
        &["name", "kind"],
        &towns,
        &by_name,
        scope,
        facility_from_row,
        rules::facility,
        |f| f.town_code.as_str(),
        |f| format!("{}\u{1}{}", f.town_code, f.name),
    )?;
    let mut report = ImportReport { written: 0, inserted: 0, updated: 0, total_rows: table.rows.len(), rejected };
    if !report.rejected.is_empty() && !skip_invalid {
        return Err(ImportError::InvalidRows(report));
    }
    let mut tx = db.begin().await?;
    for (_, f) in valid {
        match store::facility_id_by_name(&mut tx, &f.town_code, &f.name).await? {
            Some(id) => {
                let before = store::get_facility_tx(&mut tx, &id).await?;
                store::update_facility(&mut tx, &id, &f).await?;
                let after = store::get_facility_tx(&mut tx, &id).await?;
                audit::record(&mut tx, actor, "facility", &id, "import", json(&before).as_ref(), json(&after).as_ref()).await?;
                report.updated += 1;
            }
            None => {
                let id = crate::db::new_id();
                store::insert_facility(&mut tx, &id, &f).await?;
                let after = store::get_facility_tx(&mut tx, &id).await?;
                audit::record(&mut tx, actor, "facility", &id, "import", None, json(&after).as_ref()).await?;
                report.inserted += 1;
            }
        }
    }
    tx.commit().await?;
    report.written = report.inserted + report.updated;
    Ok(report)
}

fn json<T: Serialize>(v: &Option<T>) -> Option<serde_json::Value> {
    v.as_ref().and_then(|v| serde_json::to_value(v).ok())
}

/// An export file: bytes, MIME type and a file name.
pub struct ExportFile {
    pub bytes: Vec<u8>,
    pub content_type: &'static str,
    pub file_name: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error("writing the file failed: {0}")]
    Write(String),
}

fn finish_export(format: Format, stem: &str, sheet: &str, columns: &[Column], rows: Vec<Vec<String>>) -> Result<ExportFile, ExportError> {
    let headers: Vec<&str> = columns.iter().map(|c| c.zh).collect();
    let date = chrono::Utc::now().with_timezone(&chrono_tz::Asia::Shanghai).format("%Y%m%d");
    Ok(match format {
        Format::Csv => ExportFile {
            bytes: table::write_csv(&headers, &rows).map_err(|e| ExportError::Write(e.to_string()))?,
            content_type: "text/csv; charset=utf-8",
            file_name: format!("{stem}-{date}.csv"),
        },
        Format::Xlsx => ExportFile {
            bytes: table::write_xlsx(sheet, &headers, &rows).map_err(|e| ExportError::Write(e.to_string()))?,
            content_type: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            file_name: format!("{stem}-{date}.xlsx"),
        },
    })
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

pub async fn export_enterprises(db: &Db, scope: &Scope, filter: &EnterpriseFilter, format: Format) -> Result<ExportFile, ExportError> {
    let page = store::list_enterprises(db, scope, filter, None).await?;
    let rows = page
        .items
        .into_iter()
        .map(|e| {
            vec![
                e.credit_code,
                e.name,
                e.town_code,
                e.town_name,
                e.address,
                opt(e.lon),
                opt(e.lat),
                e.industry_section,
                e.industry_division.unwrap_or_default(),
                e.industry_name,
                match e.scale {
                    Scale::Above => "规模以上".to_string(),
                    Scale::Below => "规模以下".to_string(),
                },
                opt(e.staff_count),
                e.legal_rep,
                e.safety_manager,
                e.safety_phone,
                e.flags.iter().map(|f| f.zh()).collect::<Vec<_>>().join("、"),
            ]
        })
        .collect();
    finish_export(format, "enterprises", "企业", ENTERPRISE_COLUMNS, rows)
}

pub async fn export_facilities(db: &Db, scope: &Scope, filter: &FacilityFilter, format: Format) -> Result<ExportFile, ExportError> {
    let page = store::list_facilities(db, scope, filter, None).await?;
    let rows = page
        .items
        .into_iter()
        .map(|f| {
            vec![f.name, f.kind.zh().to_string(), f.town_code, f.town_name, f.address, opt(f.lon), opt(f.lat), opt(f.people)]
        })
        .collect();
    finish_export(format, "facilities", "公共设施", FACILITY_COLUMNS, rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_and_english_headers_map_to_the_same_fields() {
        let zh: Vec<String> = ["统一社会信用代码", "企业名称", "镇街"].iter().map(|s| s.to_string()).collect();
        let en: Vec<String> = ["credit_code", "NAME", "town_name"].iter().map(|s| s.to_string()).collect();
        assert_eq!(map_headers(&zh, ENTERPRISE_COLUMNS), map_headers(&en, ENTERPRISE_COLUMNS));
    }

    #[test]
    fn flag_lists_accept_chinese_separators_and_names() {
        let v: Vec<_> = split_list("危化品储存、gas_station；冶金").map(|s| HazardFlag::parse(s)).collect();
        assert_eq!(v, vec![Some(HazardFlag::HazchemStorage), Some(HazardFlag::GasStation), Some(HazardFlag::Metallurgy)]);
    }
}
