//! Save's decisions — which flagged rows to post, and what to do for a
//! patient who already has a Balance Forward — and the posting preview
//! that shows what they would post.

use std::fmt;
use std::str::FromStr;

use clap::ValueEnum;
use serde_json::{json, Map, Value};

use crate::api::{Posting, PostingTotals};
use crate::client::{decode, Client};
use crate::error::CliError;
use crate::render::{dollars, emit};
use crate::Outcome;

/// Which flagged rows Save posts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AcceptFlagged {
    /// Every flagged row.
    All,
    /// No flagged row (the gateway's default).
    None,
    /// These flagged lines, ascending and without repeats.
    Lines(Vec<u32>),
}

impl FromStr for AcceptFlagged {
    type Err = String;

    /// `all`, `none`, or comma-separated line numbers such as `3,9`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("all") {
            return Ok(AcceptFlagged::All);
        }
        if s.eq_ignore_ascii_case("none") {
            return Ok(AcceptFlagged::None);
        }
        let mut lines = Vec::new();
        for part in s.split(',') {
            let part = part.trim();
            match part.parse::<u32>() {
                Ok(n) if n > 0 => lines.push(n),
                _ => {
                    return Err(format!(
                        "`{part}` is not a line number; expected all, none or lines such as 3,9"
                    ))
                }
            }
        }
        lines.sort_unstable();
        lines.dedup();
        Ok(AcceptFlagged::Lines(lines))
    }
}

impl fmt::Display for AcceptFlagged {
    /// The preview endpoint's query form: `all`, `none` or `3,9`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AcceptFlagged::All => f.write_str("all"),
            AcceptFlagged::None => f.write_str("none"),
            AcceptFlagged::Lines(lines) => {
                let text: Vec<String> = lines.iter().map(u32::to_string).collect();
                f.write_str(&text.join(","))
            }
        }
    }
}

impl AcceptFlagged {
    /// The approve body's form: `"all"`, `"none"` or `[3, 9]`.
    fn to_json(&self) -> Value {
        match self {
            AcceptFlagged::Lines(lines) => json!(lines),
            word => json!(word.to_string()),
        }
    }
}

/// What Save does for a patient who already has an active Balance Forward.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Existing {
    /// Post nothing for them (the gateway's default).
    Skip,
    /// Post the new balance minus the earlier one.
    #[value(alias = "post_difference")]
    PostDifference,
    /// Post the new balance in full, beside the earlier one.
    #[value(alias = "post_full")]
    PostFull,
}

impl Existing {
    /// The gateway's name for it.
    pub fn wire(self) -> &'static str {
        match self {
            Existing::Skip => "skip",
            Existing::PostDifference => "post_difference",
            Existing::PostFull => "post_full",
        }
    }
}

/// The decisions given on the command line; unset ones are left to the
/// gateway's defaults (none / skip) by not sending them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Decisions {
    /// `--accept-flagged`.
    pub accept_flagged: Option<AcceptFlagged>,
    /// `--existing`.
    pub existing: Option<Existing>,
}

impl Decisions {
    /// The approve body; `{}` when nothing was chosen.
    pub fn body(&self) -> Value {
        let mut body = Map::new();
        if let Some(a) = &self.accept_flagged {
            body.insert("accept_flagged".into(), a.to_json());
        }
        if let Some(e) = self.existing {
            body.insert("existing_balance_forward".into(), json!(e.wire()));
        }
        Value::Object(body)
    }

    /// The posting preview's query parameters.
    pub fn query(&self) -> Vec<(&'static str, String)> {
        let mut q = Vec::new();
        if let Some(a) = &self.accept_flagged {
            q.push(("accept_flagged", a.to_string()));
        }
        if let Some(e) = self.existing {
            q.push(("existing_balance_forward", e.wire().to_owned()));
        }
        q
    }
}

/// "Save would post N Balance Forward claims totaling $X (patient) and $Y
/// (insurance)": the sentence the review screen confirms with.
pub fn posting_line(t: &PostingTotals) -> String {
    let noun = if t.claims == 1 { "claim" } else { "claims" };
    format!(
        "Save would post {} Balance Forward {noun} totaling {} (patient) and {} (insurance)",
        t.claims,
        dollars(&t.patient_balance),
        dollars(&t.insurance_balance)
    )
}

/// `preview` output: Save's effect before the decisions, then after.
pub fn posting_text(p: &Posting) -> String {
    format!(
        "Before decisions: {}\nAfter decisions:  {}\n",
        posting_line(&p.before),
        posting_line(&p.after)
    )
}

/// `GET /v1/imports/{id}/posting` for these decisions; returns the parsed
/// answer and its raw body.
pub async fn fetch(
    client: &Client,
    id: &str,
    decisions: &Decisions,
) -> Result<(Posting, String), CliError> {
    let url = client.url(&["v1", "imports", id, "posting"])?;
    let reply = client.get_query(url, &decisions.query()).await?;
    Ok((decode(&reply.body)?, reply.body))
}

/// `bfctl preview ID`.
pub async fn preview(
    client: &Client,
    id: &str,
    decisions: &Decisions,
    json: bool,
) -> Result<Outcome, CliError> {
    let (posting, raw) = fetch(client, id, decisions).await?;
    if json {
        emit(raw.trim_end())?;
    } else {
        emit(&posting_text(&posting))?;
    }
    Ok(Outcome::Done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_flagged_reads_words_and_line_lists() {
        assert_eq!("all".parse(), Ok(AcceptFlagged::All));
        assert_eq!(" NONE ".parse(), Ok(AcceptFlagged::None));
        assert_eq!("9, 3,9".parse(), Ok(AcceptFlagged::Lines(vec![3, 9])));
        assert!("3,x".parse::<AcceptFlagged>().unwrap_err().contains("`x`"));
        assert!("".parse::<AcceptFlagged>().is_err());
        assert!("0".parse::<AcceptFlagged>().is_err());
        assert!("3,".parse::<AcceptFlagged>().is_err());
    }

    #[test]
    fn decisions_become_the_approve_body_and_the_preview_query() {
        assert_eq!(Decisions::default().body().to_string(), "{}");
        assert!(Decisions::default().query().is_empty());
        let d = Decisions {
            accept_flagged: Some(AcceptFlagged::Lines(vec![3, 9])),
            existing: Some(Existing::PostDifference),
        };
        assert_eq!(
            d.body().to_string(),
            r#"{"accept_flagged":[3,9],"existing_balance_forward":"post_difference"}"#
        );
        assert_eq!(
            d.query(),
            vec![
                ("accept_flagged", "3,9".to_owned()),
                ("existing_balance_forward", "post_difference".to_owned())
            ]
        );
        let all = Decisions {
            accept_flagged: Some(AcceptFlagged::All),
            existing: None,
        };
        assert_eq!(all.body().to_string(), r#"{"accept_flagged":"all"}"#);
    }

    #[test]
    fn the_preview_reads_like_the_review_screen() {
        let p: Posting = serde_json::from_str(
            r#"{"before":{"claims":1,"patient_balance":"100.00","insurance_balance":"0.00"},
                "after":{"claims":12,"patient_balance":"1234.50","insurance_balance":"-20.00"}}"#,
        )
        .unwrap();
        assert_eq!(
            posting_text(&p),
            "Before decisions: Save would post 1 Balance Forward claim totaling $100.00 (patient) and $0.00 (insurance)\n\
             After decisions:  Save would post 12 Balance Forward claims totaling $1,234.50 (patient) and -$20.00 (insurance)\n"
        );
    }
}
