//! What Save posts: the user's decisions about flagged rows and about
//! patients who already have a Balance Forward claim from an earlier
//! import. Repeated imports during a migration stay correct because the
//! user chooses, per import, how an earlier claim is treated.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// What to do for a patient who already has an active BF claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExistingPolicy {
    /// Post nothing for them (the safe default: never double a balance).
    #[default]
    Skip,
    /// Post only the change since the earlier claims (nothing when zero).
    PostDifference,
    /// Post the whole new balance again.
    PostFull,
}

impl ExistingPolicy {
    /// The policy as stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            ExistingPolicy::Skip => "skip",
            ExistingPolicy::PostDifference => "post_difference",
            ExistingPolicy::PostFull => "post_full",
        }
    }
}

/// Which flagged rows the user accepts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AcceptFlagged {
    /// "all" or "none".
    Word(AcceptWord),
    /// These lines.
    Lines(Vec<u32>),
}

/// The two word forms of [`AcceptFlagged`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AcceptWord {
    All,
    None,
}

impl Default for AcceptFlagged {
    fn default() -> Self {
        AcceptFlagged::Word(AcceptWord::None)
    }
}

impl AcceptFlagged {
    /// Whether every flagged row is accepted.
    pub fn all(&self) -> bool {
        matches!(self, AcceptFlagged::Word(AcceptWord::All))
    }

    /// The lines named, if any.
    pub fn lines(&self) -> &[u32] {
        match self {
            AcceptFlagged::Lines(lines) => lines,
            AcceptFlagged::Word(_) => &[],
        }
    }
}

/// The user's decisions at Save.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Decisions {
    pub accept_flagged: AcceptFlagged,
    pub existing_balance_forward: ExistingPolicy,
}

/// The amounts a row posts, patient then insurance; `None` when it posts
/// nothing. `prior` is what earlier imports posted for the patient.
pub fn amounts_to_post(
    patient: Decimal,
    insurance: Decimal,
    prior: Option<(Decimal, Decimal)>,
    policy: ExistingPolicy,
) -> Option<(Decimal, Decimal)> {
    let (p, i) = match (prior, policy) {
        (None, _) | (Some(_), ExistingPolicy::PostFull) => (patient, insurance),
        (Some(_), ExistingPolicy::Skip) => return None,
        (Some((pp, pi)), ExistingPolicy::PostDifference) => (patient - pp, insurance - pi),
    };
    (!p.is_zero() || !i.is_zero()).then_some((p, i))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(cents: i64) -> Decimal {
        Decimal::new(cents, 2)
    }

    #[test]
    fn rows_without_an_earlier_claim_post_in_full() {
        for policy in [
            ExistingPolicy::Skip,
            ExistingPolicy::PostDifference,
            ExistingPolicy::PostFull,
        ] {
            assert_eq!(
                amounts_to_post(d(1000), d(0), None, policy),
                Some((d(1000), d(0)))
            );
        }
    }

    #[test]
    fn an_earlier_claim_is_skipped_differenced_or_posted_again() {
        let prior = Some((d(1000), d(500)));
        assert_eq!(
            amounts_to_post(d(1200), d(500), prior, ExistingPolicy::Skip),
            None
        );
        assert_eq!(
            amounts_to_post(d(1200), d(500), prior, ExistingPolicy::PostDifference),
            Some((d(200), d(0)))
        );
        assert_eq!(
            amounts_to_post(d(800), d(500), prior, ExistingPolicy::PostDifference),
            Some((d(-200), d(0)))
        );
        assert_eq!(
            amounts_to_post(d(1000), d(500), prior, ExistingPolicy::PostDifference),
            None
        );
        assert_eq!(
            amounts_to_post(d(1200), d(500), prior, ExistingPolicy::PostFull),
            Some((d(1200), d(500)))
        );
    }

    #[test]
    fn decisions_read_from_json() {
        let all: Decisions = serde_json::from_str(
            r#"{"accept_flagged":"all","existing_balance_forward":"post_difference"}"#,
        )
        .unwrap();
        assert!(all.accept_flagged.all());
        assert_eq!(all.existing_balance_forward, ExistingPolicy::PostDifference);
        let some: Decisions = serde_json::from_str(r#"{"accept_flagged":[3,9]}"#).unwrap();
        assert_eq!(some.accept_flagged.lines(), [3, 9]);
        assert_eq!(some.existing_balance_forward, ExistingPolicy::Skip);
        assert_eq!(
            serde_json::from_str::<Decisions>("{}").unwrap(),
            Decisions::default()
        );
    }
}
