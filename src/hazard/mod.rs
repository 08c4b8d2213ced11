//! Major hazard sources (GB 18218-2018): units of an enterprise, their chemicals and
//! equipment, identified and graded by the pure rules in [`gb18218`].

pub mod gb18218;
pub mod model;
pub mod routes;
pub mod store;

use crate::error::ApiError;
use crate::registry::rules::{FieldError, check_location};
use model::HazardUnitInput;
use store::Grading;

/// Validates a unit's own fields and grades its chemicals; the grading is what gets stored.
pub fn validate_and_grade(input: &HazardUnitInput) -> Result<(HazardUnitInput, Grading), ApiError> {
    let mut u = input.clone();
    u.name = u.name.trim().to_string();
    if u.name.is_empty() || u.name.chars().count() > 200 {
        return Err(FieldError::new("name", "is required, at most 200 characters").into());
    }
    u.description = u.description.trim().to_string();
    check_location(u.lon, u.lat)?;
    for (i, e) in u.equipment.iter_mut().enumerate() {
        e.name = e.name.trim().to_string();
        if e.name.is_empty() {
            return Err(FieldError::new(&format!("equipment[{i}].name"), "is required").into());
        }
    }
    let rules_input = gb18218::Gb18218Input {
        exposed_population: u.exposed_population,
        substances: u.substances.clone(),
    };
    let result = gb18218::evaluate(&rules_input)?;
    let grading = Grading {
        s: result.s,
        is_major: result.is_major,
        r: result.r,
        grade: result.grade.map(i64::from),
        evaluation: serde_json::to_value(&result).map_err(|e| ApiError::Internal(e.into()))?,
    };
    Ok((u, grading))
}
