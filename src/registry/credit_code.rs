//! The unified social credit code (统一社会信用代码) of GB 32100-2015.
//!
//! Eighteen characters from a 31-character alphabet (the digits and the capital
//! letters without I, O, Z, S and V, so that they cannot be misread):
//!
//! | positions | meaning |
//! |---|---|
//! | 1 | registration authority (9 = market regulation, formerly 工商) |
//! | 2 | type within that authority (1 = enterprise) |
//! | 3–8 | administrative division code of the registering office |
//! | 9–17 | organisation code (GB 11714), whose own check character is position 17 |
//! | 18 | check character over positions 1–17 |
//!
//! [`CreditCode::parse`] accepts a string only when its length, alphabet,
//! division digits and position-18 check are right. It does not insist on the
//! GB 11714 check of position 17: codes issued before 2015 reused existing
//! organisation codes, and rejecting a code the registration authority actually
//! issued would block a real enterprise from being registered.
//! [`CreditCode::organisation_code_is_valid`] reports it for those who care.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The 31 characters allowed by GB 32100; a character's value is its index.
pub const CHARSET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

/// Weights of positions 1–17 for the position-18 check (3^(i) mod 31).
const WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// Weights of the first eight characters of a GB 11714 organisation code.
const ORG_WEIGHTS: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];

/// Length of a unified social credit code in characters.
pub const LEN: usize = 18;

/// Why a string is not a unified social credit code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CreditCodeError {
    #[error("a unified social credit code has 18 characters, this one has {0}")]
    Length(usize),
    #[error(
        "character {position} ('{found}') is not allowed: use digits and capital letters other than I, O, Z, S, V"
    )]
    BadCharacter { position: usize, found: char },
    #[error(
        "character {position} ('{found}') must be a digit (positions 3-8 are the division code)"
    )]
    NotADigit { position: usize, found: char },
    #[error("check character is '{found}', expected '{expected}'")]
    CheckMismatch { found: char, expected: char },
}

/// A unified social credit code that has passed [`CreditCode::parse`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CreditCode(String);

impl CreditCode {
    /// Parses a code as a user typed it: surrounding spaces are dropped and
    /// letters upper-cased before checking.
    pub fn parse(input: &str) -> Result<CreditCode, CreditCodeError> {
        let normalised: String = input.trim().to_uppercase();
        let chars: Vec<char> = normalised.chars().collect();
        if chars.len() != LEN {
            return Err(CreditCodeError::Length(chars.len()));
        }
        let mut values = [0u32; LEN];
        for (i, &c) in chars.iter().enumerate() {
            let position = i + 1;
            values[i] =
                char_value(c).ok_or(CreditCodeError::BadCharacter { position, found: c })?;
            if (3..=8).contains(&position) && !c.is_ascii_digit() {
                return Err(CreditCodeError::NotADigit { position, found: c });
            }
        }
        let mut first17 = [0u32; 17];
        first17.copy_from_slice(&values[..17]);
        let expected = check_char(&first17);
        if chars[17] != expected {
            return Err(CreditCodeError::CheckMismatch {
                found: chars[17],
                expected,
            });
        }
        Ok(CreditCode(normalised))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }

    /// Position 1: the registration authority (e.g. '9' for market regulation).
    pub fn registration_authority(&self) -> char {
        self.char_at(0)
    }

    /// Position 2: the organisation type within its authority (e.g. '1' for an enterprise).
    pub fn organisation_type(&self) -> char {
        self.char_at(1)
    }

    /// Positions 3–8: the 6-digit administrative division code of the registering office.
    pub fn division_code(&self) -> &str {
        &self.0[2..8]
    }

    /// Positions 9–17: the GB 11714 organisation code.
    pub fn organisation_code(&self) -> &str {
        &self.0[8..17]
    }

    /// Whether position 17 is the right GB 11714 check character for positions 9–16.
    pub fn organisation_code_is_valid(&self) -> bool {
        let org = self.organisation_code().as_bytes();
        org_check_char(&org[..8]) == Some(org[8] as char)
    }

    fn char_at(&self, index: usize) -> char {
        // The string was checked to be 18 ASCII characters in `parse`.
        self.0.as_bytes()[index] as char
    }
}

/// The value of a character in the GB 32100 alphabet.
fn char_value(c: char) -> Option<u32> {
    if !c.is_ascii() {
        return None;
    }
    CHARSET
        .iter()
        .position(|&b| b as char == c)
        .map(|i| i as u32)
}

/// The position-18 check character for the values of positions 1–17.
fn check_char(values: &[u32; 17]) -> char {
    let sum: u32 = values.iter().zip(WEIGHTS).map(|(v, w)| v * w).sum();
    // 31 - (sum mod 31) is in 1..=31; the value 31 does not exist and stands for 0.
    let check = (31 - sum % 31) % 31;
    CHARSET[check as usize] as char
}

/// The GB 11714 check character for the first eight characters of an
/// organisation code, whose alphabet is 0–9 then A–Z valued 10–35.
fn org_check_char(first8: &[u8]) -> Option<char> {
    let mut sum = 0u32;
    for (&b, w) in first8.iter().zip(ORG_WEIGHTS) {
        let v = match b {
            b'0'..=b'9' => u32::from(b - b'0'),
            b'A'..=b'Z' => u32::from(b - b'A') + 10,
            _ => return None,
        };
        sum += v * w;
    }
    Some(match 11 - sum % 11 {
        10 => 'X',
        11 => '0',
        d => char::from_digit(d, 10)?,
    })
}

/// Generates a valid enterprise code ("91" + division + random organisation
/// code with its GB 11714 check + check character), for demo data.
///
/// `division_code` should be six digits; anything else is replaced by the
/// Wuqing district code `120114` so that the result is always valid.
pub fn generate(rng: &mut impl rand::Rng, division_code: &str) -> CreditCode {
    let division = if division_code.len() == 6 && division_code.bytes().all(|b| b.is_ascii_digit())
    {
        division_code
    } else {
        "120114"
    };
    let mut code = String::with_capacity(LEN);
    code.push_str("91");
    code.push_str(division);
    // Post-2015 organisation codes issued with credit codes start with "MA";
    // older ones are 8 digits. Mixing both makes the demo look like a real register.
    let mut org: Vec<u8> = Vec::with_capacity(9);
    if rng.gen_bool(0.6) {
        org.extend_from_slice(b"MA");
        // GB 11714 codes avoid the letters GB 32100 leaves out, so draw from its alphabet.
        for _ in 0..6 {
            org.push(CHARSET[rng.gen_range(0..CHARSET.len())]);
        }
    } else {
        for _ in 0..8 {
            org.push(b'0' + rng.gen_range(0..10u8));
        }
    }
    let org_check = org_check_char(&org).unwrap_or('0');
    code.extend(org.iter().map(|&b| b as char));
    code.push(org_check);
    let mut values = [0u32; 17];
    for (v, c) in values.iter_mut().zip(code.chars()) {
        *v = char_value(c).unwrap_or(0);
    }
    code.push(check_char(&values));
    CreditCode(code)
}

impl fmt::Display for CreditCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for CreditCode {
    type Err = CreditCodeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CreditCode::parse(s)
    }
}

impl AsRef<str> for CreditCode {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Serialize for CreditCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for CreditCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        CreditCode::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    /// Codes published for well-known companies. The test proves they are
    /// valid codes; the attribution is from public listings, not checked here.
    const REAL: [&str; 7] = [
        "91110000100011743X", // a central state-owned enterprise in Beijing
        "914403001922038216", // 华为技术有限公司
        "91440300708461136T", // 深圳市腾讯计算机系统有限公司
        "91330100799655058B", // 阿里巴巴(中国)有限公司
        "91110108551385082Q", // 小米科技有限责任公司
        "91110000710926094P", // 中国石油化工股份有限公司 (Sinopec)
        "91110000802100433B", // 百度在线网络技术(北京)有限公司
    ];

    #[test]
    fn published_codes_of_real_companies_parse() {
        for s in REAL {
            let code = CreditCode::parse(s).unwrap();
            assert_eq!(code.as_str(), s);
            assert!(code.organisation_code_is_valid(), "{s}");
        }
    }

    #[test]
    fn the_parts_of_a_code_are_at_their_positions() {
        let code = CreditCode::parse("914403001922038216").unwrap();
        assert_eq!(code.registration_authority(), '9');
        assert_eq!(code.organisation_type(), '1');
        assert_eq!(code.division_code(), "440300");
        assert_eq!(code.organisation_code(), "192203821");
    }

    #[test]
    fn spaces_are_trimmed_and_letters_upper_cased() {
        let code = CreditCode::parse("  91110000100011743x \n").unwrap();
        assert_eq!(code.as_str(), "91110000100011743X");
    }

    #[test]
    fn a_wrong_length_is_reported_with_the_length() {
        assert_eq!(
            CreditCode::parse("9111000010001174"),
            Err(CreditCodeError::Length(16))
        );
        assert_eq!(CreditCode::parse(""), Err(CreditCodeError::Length(0)));
        assert_eq!(
            CreditCode::parse("91110000100011743X0"),
            Err(CreditCodeError::Length(19))
        );
    }

    #[test]
    fn the_length_counts_characters_not_bytes() {
        assert_eq!(
            CreditCode::parse("91110000100011743码"),
            Err(CreditCodeError::BadCharacter {
                position: 18,
                found: '码'
            })
        );
    }

    #[test]
    fn a_letter_outside_the_alphabet_is_reported_with_its_position() {
        for bad in ['I', 'O', 'Z', 'S', 'V', '-'] {
            let mut s: Vec<char> = "91110000100011743X".chars().collect();
            s[9] = bad;
            let s: String = s.into_iter().collect();
            assert_eq!(
                CreditCode::parse(&s),
                Err(CreditCodeError::BadCharacter {
                    position: 10,
                    found: bad
                })
            );
        }
    }

    #[test]
    fn a_letter_in_the_division_code_is_rejected() {
        assert_eq!(
            CreditCode::parse("9111A000100011743X"),
            Err(CreditCodeError::NotADigit {
                position: 5,
                found: 'A'
            })
        );
    }

    #[test]
    fn a_wrong_check_character_is_reported_with_the_expected_one() {
        assert_eq!(
            CreditCode::parse("91110000100011743Y"),
            Err(CreditCodeError::CheckMismatch {
                found: 'Y',
                expected: 'X'
            })
        );
        let err = CreditCode::parse("91120116MA05JN6Y5W").unwrap_err();
        assert_eq!(err.to_string(), "check character is 'W', expected 'Q'");
    }

    #[test]
    fn a_check_value_of_31_becomes_0() {
        // Find a 17-character body whose weighted sum is 0 mod 31, so that
        // 31 - 0 = 31 must wrap to the character '0'.
        let body = "91120114MA0000000";
        let mut values = [0u32; 17];
        for (v, c) in values.iter_mut().zip(body.chars()) {
            *v = char_value(c).unwrap();
        }
        let sum: u32 = values.iter().zip(WEIGHTS).map(|(v, w)| v * w).sum();
        // Adjust position 17 (weight 28) until the sum is 0 mod 31.
        let needed = (0..31u32)
            .find(|x| (sum + x * 28).is_multiple_of(31))
            .unwrap();
        values[16] = needed;
        assert_eq!(check_char(&values), '0');
        let mut code: String = body[..16].to_string();
        code.push(CHARSET[needed as usize] as char);
        code.push('0');
        assert!(CreditCode::parse(&code).is_ok(), "{code}");
    }

    #[test]
    fn organisation_check_values_of_10_and_11_become_x_and_0() {
        // A published organisation code, then the first 8-digit bodies giving 10 and 11.
        assert_eq!(org_check_char(b"10001174"), Some('3'));
        let x = (0..100_000_000u32)
            .map(|n| format!("{n:08}"))
            .find(|s| org_check_char(s.as_bytes()) == Some('X'))
            .unwrap();
        let zero = (0..100_000_000u32)
            .map(|n| format!("{n:08}"))
            .find(|s| org_check_char(s.as_bytes()) == Some('0'))
            .unwrap();
        // Verify by hand against the formula.
        let sum = |s: &str| -> u32 {
            s.bytes()
                .zip(ORG_WEIGHTS)
                .map(|(b, w)| u32::from(b - b'0') * w)
                .sum()
        };
        assert_eq!(11 - sum(&x) % 11, 10);
        assert_eq!(11 - sum(&zero) % 11, 11);
    }

    #[test]
    fn generated_codes_are_valid_and_carry_the_division() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        for _ in 0..2000 {
            let code = generate(&mut rng, "120114");
            let reparsed = CreditCode::parse(code.as_str()).unwrap();
            assert_eq!(reparsed, code);
            assert!(code.as_str().starts_with("91120114"));
            assert!(code.organisation_code_is_valid(), "{code}");
        }
    }

    #[test]
    fn a_malformed_division_falls_back_to_wuqing() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        assert_eq!(generate(&mut rng, "12x").division_code(), "120114");
    }

    #[test]
    fn serde_uses_the_plain_string_and_validates_on_the_way_in() {
        let code = CreditCode::parse("91110000100011743X").unwrap();
        let json = serde_json::to_string(&code).unwrap();
        assert_eq!(json, "\"91110000100011743X\"");
        let back: CreditCode = serde_json::from_str(&json).unwrap();
        assert_eq!(back, code);
        let err = serde_json::from_str::<CreditCode>("\"91110000100011743Y\"").unwrap_err();
        assert!(err.to_string().contains("expected 'X'"), "{err}");
    }

    #[test]
    fn display_prints_the_code() {
        let code = CreditCode::parse("91110000100011743X").unwrap();
        assert_eq!(code.to_string(), "91110000100011743X");
    }
}
