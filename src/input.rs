//! Small parsers of request fields shared by the routes: trimmed optional strings and text
//! with a required presence and a length limit, each refusal a 422 naming the field.

use crate::error::ApiError;

/// The trimmed value, or `None` when absent or blank.
pub fn non_empty(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Trimmed text that must be present and at most `max` characters.
pub fn required_text(field: &str, v: &str, max: usize) -> Result<String, ApiError> {
    let v = v.trim();
    if v.is_empty() {
        return Err(ApiError::validation(field, format!("{field} is required")));
    }
    if v.chars().count() > max {
        return Err(ApiError::validation(
            field,
            format!("{field} is longer than {max} characters"),
        ));
    }
    Ok(v.to_string())
}

/// Trimmed text of at most `max` characters, `None` when absent or blank.
pub fn optional_text(
    field: &str,
    v: &Option<String>,
    max: usize,
) -> Result<Option<String>, ApiError> {
    non_empty(v)
        .map(|s| required_text(field, s, max))
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_text_is_absent_and_long_text_is_refused_naming_the_field() {
        assert_eq!(non_empty(&Some("  ".into())), None);
        assert_eq!(non_empty(&Some(" a ".into())), Some("a"));
        assert_eq!(optional_text("note", &None, 3).ok(), Some(None));
        assert!(
            matches!(required_text("cause", " ", 3), Err(ApiError::Validation { field, .. }) if field == "cause")
        );
        assert!(
            matches!(required_text("cause", "四个汉字", 3), Err(ApiError::Validation { field, .. }) if field == "cause")
        );
        assert_eq!(
            required_text("cause", " 三个字 ", 3).ok().as_deref(),
            Some("三个字")
        );
    }
}
