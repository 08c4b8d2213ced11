//! The four colours of Chinese risk and warning scales (red, orange, yellow, blue), shared by
//! monitoring alarms, dual-prevention risk grading and early warnings.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The four colours, least to most severe, so that `max` gives the worst.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Colour {
    Blue,
    Yellow,
    Orange,
    Red,
}

impl Colour {
    /// Least to most severe.
    pub const ALL: [Colour; 4] = [Colour::Blue, Colour::Yellow, Colour::Orange, Colour::Red];

    pub fn key(self) -> &'static str {
        match self {
            Colour::Blue => "blue",
            Colour::Yellow => "yellow",
            Colour::Orange => "orange",
            Colour::Red => "red",
        }
    }

    pub fn parse(s: &str) -> Option<Colour> {
        Colour::ALL.into_iter().find(|c| c.key() == s.trim())
    }

    /// 1 (blue) to 4 (red): stored beside the colour so that SQL `MAX()` rolls colours up.
    pub fn rank(self) -> i64 {
        match self {
            Colour::Blue => 1,
            Colour::Yellow => 2,
            Colour::Orange => 3,
            Colour::Red => 4,
        }
    }

    pub fn from_rank(rank: i64) -> Option<Colour> {
        Colour::ALL.into_iter().find(|c| c.rank() == rank)
    }

    /// The name of the risk level in the dual-prevention scale.
    pub fn risk_level_zh(self) -> &'static str {
        match self {
            Colour::Red => "重大风险",
            Colour::Orange => "较大风险",
            Colour::Yellow => "一般风险",
            Colour::Blue => "低风险",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_order_from_blue_to_red_and_ranks_round_trip() {
        assert!(Colour::Red > Colour::Orange && Colour::Orange > Colour::Yellow);
        assert!(Colour::Yellow > Colour::Blue);
        for c in Colour::ALL {
            assert_eq!(Colour::from_rank(c.rank()), Some(c));
            assert_eq!(Colour::parse(c.key()), Some(c));
        }
        assert_eq!(Colour::from_rank(0), None);
    }
}
