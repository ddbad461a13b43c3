//! Ledger entries: what the runtime writes. Entries are never rewritten, only followed by
//! adjustments; what a campaign owes for a payment is the sum of its entries' points.

use serde::Serialize;

/// One line of the ledger (EVENTS.md).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "entry", rename_all = "lowercase")]
pub enum Entry {
    /// Points awarded for a payment.
    Award {
        /// The event that caused it (the payment, or the `complete` of a provisional one).
        event: String,
        /// The account.
        account: String,
        /// The campaign.
        campaign: String,
        /// The payment.
        payment: String,
        /// Whole points.
        points: i64,
        /// The point unit.
        unit: String,
        /// The date the points are granted (`YYYY-MM-DD`).
        grant_on: String,
        /// The rule that awarded them, `file:line`.
        source: String,
        /// Why this many, in a few words.
        reason: String,
    },
    /// A change to what was awarded for a payment.
    Adjust {
        /// The event that caused it (a refund, a cancel).
        event: String,
        /// The account.
        account: String,
        /// The campaign.
        campaign: String,
        /// The payment adjusted.
        payment: String,
        /// Whole points, negative for a clawback.
        points: i64,
        /// The point unit.
        unit: String,
        /// The rule that decided the change, `file:line`.
        source: String,
        /// `refund`, `cancel` or `rerate`, with a few words.
        reason: String,
    },
    /// An event that was not accepted.
    Reject {
        /// Its id, when it could be read.
        #[serde(skip_serializing_if = "Option::is_none")]
        event: Option<String>,
        /// Its line in the input, from 1.
        line: usize,
        /// What is wrong.
        error: String,
    },
}

impl Entry {
    /// The points of an award or adjustment; 0 for a reject.
    pub fn points(&self) -> i64 {
        match self {
            Entry::Award { points, .. } | Entry::Adjust { points, .. } => *points,
            Entry::Reject { .. } => 0,
        }
    }

    /// `(campaign, payment)` of an award or adjustment.
    pub fn owed_key(&self) -> Option<(&str, &str)> {
        match self {
            Entry::Award { campaign, payment, .. } | Entry::Adjust { campaign, payment, .. } => {
                Some((campaign.as_str(), payment.as_str()))
            }
            Entry::Reject { .. } => None,
        }
    }

    /// The entry as one line of JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|e| format!(r#"{{"entry":"reject","line":0,"error":"{e}"}}"#))
    }
}
