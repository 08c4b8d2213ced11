//! Validation of registry input: parse once at the edge, then trust the values inside.
//! Pure: the set of known township codes is passed in.

use std::collections::HashSet;

use super::credit_code::CreditCode;
use super::industry;
use super::model::{EnterpriseInput, FacilityInput, HazardFlag};

/// A problem with one input field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &str, message: impl Into<String>) -> FieldError {
        FieldError { field: field.to_string(), message: message.into() }
    }
}

impl From<FieldError> for crate::error::ApiError {
    fn from(e: FieldError) -> Self {
        crate::error::ApiError::validation(e.field, e.message)
    }
}

/// Longitude/latitude bounds of China, generously: a point outside is a typo or swapped axes.
const LON_RANGE: std::ops::RangeInclusive<f64> = 73.0..=136.0;
const LAT_RANGE: std::ops::RangeInclusive<f64> = 3.0..=54.0;

fn required(field: &str, value: &str, max_chars: usize) -> Result<String, FieldError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(FieldError::new(field, "is required"));
    }
    optional(field, v, max_chars)
}

fn optional(field: &str, value: &str, max_chars: usize) -> Result<String, FieldError> {
    let v = value.trim();
    if v.chars().count() > max_chars {
        return Err(FieldError::new(field, format!("must be at most {max_chars} characters")));
    }
    Ok(v.to_string())
}

pub fn check_location(lon: Option<f64>, lat: Option<f64>) -> Result<(), FieldError> {
    match (lon, lat) {
        (None, None) => Ok(()),
        (Some(_), None) => Err(FieldError::new("lat", "lat is required when lon is given")),
        (None, Some(_)) => Err(FieldError::new("lon", "lon is required when lat is given")),
        (Some(lon), Some(lat)) => {
            if !lon.is_finite() || !LON_RANGE.contains(&lon) {
                return Err(FieldError::new("lon", "longitude must be a WGS84 value within China (73–136)"));
            }
            if !lat.is_finite() || !LAT_RANGE.contains(&lat) {
                return Err(FieldError::new("lat", "latitude must be a WGS84 value within China (3–54)"));
            }
            Ok(())
        }
    }
}

fn check_town(town_code: &str, towns: &HashSet<String>) -> Result<String, FieldError> {
    let t = town_code.trim();
    if t.is_empty() {
        return Err(FieldError::new("town_code", "is required"));
    }
    if !towns.contains(t) {
        return Err(FieldError::new("town_code", format!("{t} is not a township code of the district")));
    }
    Ok(t.to_string())
}

fn check_phone(field: &str, phone: &str) -> Result<String, FieldError> {
    let p = phone.trim();
    if p.is_empty() {
        return Ok(String::new());
    }
    let digits = p.chars().filter(char::is_ascii_digit).count();
    let allowed = p.chars().all(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | ' ' | '(' | ')'));
    if !allowed || !(7..=15).contains(&digits) {
        return Err(FieldError::new(field, "must be a phone number (7–15 digits; - + ( ) and spaces allowed)"));
    }
    Ok(p.to_string())
}

/// Validates and normalises an enterprise: trimmed text, upper-case credit code, sorted
/// distinct flags, an industry division that belongs to its section.
pub fn enterprise(input: &EnterpriseInput, towns: &HashSet<String>) -> Result<EnterpriseInput, FieldError> {
    let credit_code = CreditCode::parse(&input.credit_code).map_err(|e| FieldError::new("credit_code", e.to_string()))?;
    let name = required("name", &input.name, 200)?;
    let town_code = check_town(&input.town_code, towns)?;
    let address = optional("address", &input.address, 300)?;
    check_location(input.lon, input.lat)?;
    let section = input.industry_section.trim().to_ascii_uppercase();
    if industry::section(&section).is_none() {
        return Err(FieldError::new("industry_section", "must be a GB/T 4754-2017 section letter A–T"));
    }
    let division = match input.industry_division.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
        None => None,
        Some(d) => {
            if industry::division(d).is_none() {
                return Err(FieldError::new("industry_division", format!("{d} is not a GB/T 4754-2017 division (01–97)")));
            }
            if industry::industry_name(&section, Some(d)).is_none() || !industry::division_belongs_to(&section, d) {
                return Err(FieldError::new("industry_division", format!("division {d} does not belong to section {section}")));
            }
            Some(d.to_string())
        }
    };
    if let Some(n) = input.staff_count {
        if !(0..=1_000_000).contains(&n) {
            return Err(FieldError::new("staff_count", "must be between 0 and 1,000,000"));
        }
    }
    let mut flags: Vec<HazardFlag> = input.flags.clone();
    flags.sort();
    flags.dedup();
    Ok(EnterpriseInput {
        credit_code: credit_code.as_str().to_string(),
        name,
        town_code,
        address,
        lon: input.lon,
        lat: input.lat,
        industry_section: section,
        industry_division: division,
        scale: input.scale,
        staff_count: input.staff_count,
        legal_rep: optional("legal_rep", &input.legal_rep, 50)?,
        safety_manager: optional("safety_manager", &input.safety_manager, 50)?,
        safety_phone: check_phone("safety_phone", &input.safety_phone)?,
        flags,
    })
}

pub fn facility(input: &FacilityInput, towns: &HashSet<String>) -> Result<FacilityInput, FieldError> {
    check_location(input.lon, input.lat)?;
    if let Some(n) = input.people {
        if !(0..=1_000_000).contains(&n) {
            return Err(FieldError::new("people", "must be between 0 and 1,000,000"));
        }
    }
    Ok(FacilityInput {
        name: required("name", &input.name, 200)?,
        kind: input.kind,
        town_code: check_town(&input.town_code, towns)?,
        address: optional("address", &input.address, 300)?,
        lon: input.lon,
        lat: input.lat,
        people: input.people,
    })
}

/// The flag shown first on the map: the most dangerous one an enterprise carries.
pub fn primary_flag(flags: &[HazardFlag]) -> Option<HazardFlag> {
    const PRIORITY: [HazardFlag; 10] = [
        HazardFlag::HazchemProduction,
        HazardFlag::HazchemStorage,
        HazardFlag::HazchemUse,
        HazardFlag::HazchemTrading,
        HazardFlag::GasStation,
        HazardFlag::AmmoniaRefrigeration,
        HazardFlag::CombustibleDust,
        HazardFlag::Metallurgy,
        HazardFlag::Warehousing,
        HazardFlag::ConfinedSpace,
    ];
    PRIORITY.into_iter().find(|f| flags.contains(f))
}

/// Flags as stored: keys wrapped in commas, `,a,b,`, so `LIKE '%,a,%'` finds them.
pub fn flags_to_db(flags: &[HazardFlag]) -> String {
    let mut s = String::from(",");
    for f in flags {
        s.push_str(f.key());
        s.push(',');
    }
    s
}

pub fn flags_from_db(s: &str) -> Vec<HazardFlag> {
    s.split(',').filter_map(HazardFlag::parse).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::model::Scale;

    fn towns() -> HashSet<String> {
        ["120114001".to_string()].into_iter().collect()
    }

    fn valid() -> EnterpriseInput {
        EnterpriseInput {
            credit_code: "91120114MA05JXXA4B".into(),
            name: " 天津市武清区某化工有限公司 ".into(),
            town_code: "120114001".into(),
            address: "天津市武清区杨村街道".into(),
            lon: Some(117.05),
            lat: Some(39.38),
            industry_section: "c".into(),
            industry_division: Some("26".into()),
            scale: Scale::Above,
            staff_count: Some(120),
            legal_rep: "张伟".into(),
            safety_manager: "李强".into(),
            safety_phone: "13812345678".into(),
            flags: vec![HazardFlag::HazchemStorage, HazardFlag::HazchemProduction, HazardFlag::HazchemStorage],
        }
    }

    fn with_valid_code(mut e: EnterpriseInput) -> EnterpriseInput {
        let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(7);
        e.credit_code = crate::registry::credit_code::generate(&mut rng, "120114").as_str().to_string();
        e
    }

    #[test]
    fn a_valid_enterprise_is_normalised() {
        let e = enterprise(&with_valid_code(valid()), &towns()).expect("valid");
        assert_eq!(e.name, "天津市武清区某化工有限公司");
        assert_eq!(e.industry_section, "C");
        assert_eq!(e.flags, vec![HazardFlag::HazchemProduction, HazardFlag::HazchemStorage]);
    }

    #[test]
    fn each_bad_field_is_named() {
        let base = with_valid_code(valid());
        let cases: Vec<(&str, Box<dyn Fn(&mut EnterpriseInput)>)> = vec![
            ("credit_code", Box::new(|e| e.credit_code = "911201140000000000".into())),
            ("name", Box::new(|e| e.name = "  ".into())),
            ("town_code", Box::new(|e| e.town_code = "120114999".into())),
            ("lat", Box::new(|e| e.lat = None)),
            ("lon", Box::new(|e| e.lon = Some(200.0))),
            ("industry_section", Box::new(|e| e.industry_section = "Z".into())),
            ("industry_division", Box::new(|e| e.industry_division = Some("59".into()))),
            ("staff_count", Box::new(|e| e.staff_count = Some(-1))),
            ("safety_phone", Box::new(|e| e.safety_phone = "call me".into())),
        ];
        for (field, mutate) in cases {
            let mut e = base.clone();
            mutate(&mut e);
            let err = enterprise(&e, &towns()).expect_err(field);
            assert_eq!(err.field, field, "{err}");
        }
    }

    #[test]
    fn flags_round_trip_through_the_database_form() {
        let flags = vec![HazardFlag::GasStation, HazardFlag::Warehousing];
        assert_eq!(flags_to_db(&flags), ",gas_station,warehousing,");
        assert_eq!(flags_from_db(",gas_station,warehousing,"), flags);
        assert_eq!(flags_from_db(","), vec![]);
    }

    #[test]
    fn production_outranks_a_gas_station_on_the_map() {
        assert_eq!(
            primary_flag(&[HazardFlag::GasStation, HazardFlag::HazchemProduction]),
            Some(HazardFlag::HazchemProduction)
        );
        assert_eq!(primary_flag(&[]), None);
    }
}
