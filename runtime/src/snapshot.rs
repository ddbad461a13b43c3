//! Account state in a form that outlives the process and the program: what a store keeps.
//!
//! In memory, an account's caps and counters are keyed by campaign and counter *indices*,
//! which only mean something for the program loaded. A snapshot names them by campaign id and
//! counter name instead, so it can be restored into a later run or a reloaded program. What the
//! program loaded does not know (a campaign removed by a reload) is kept aside as [`Detached`]
//! and written back unchanged, so nothing is lost if the campaign comes back.
//!
//! An account is snapshotted in two parts, so a store can write only what an event changed:
//! the account's own state ([`AccountState`], small) and one [`PaymentState`] per payment.

use std::collections::BTreeMap;

use camp_compiler::ir::{Nanos, Program};
use camp_compiler::time::MonthKey;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::account::{Account, AwardRecord, Contribution, Payment};
use crate::event;

/// An account's own state: attributes, enrollments, cap usage and counters.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AccountState {
    /// Attribute changes in time order, as events gave them.
    #[serde(default)]
    pub attributes: Vec<AttributeChange>,
    /// Campaign id → when the account entered it.
    #[serde(default)]
    pub enrollments: BTreeMap<String, Nanos>,
    /// Points awarded per campaign and month (or period).
    #[serde(default)]
    pub usage: Vec<Usage>,
    /// Counter values per campaign, counter and month.
    #[serde(default)]
    pub counters: Vec<CounterValue>,
}

/// One attribute change.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AttributeChange {
    /// From when (ns since the Unix epoch).
    pub at: Nanos,
    /// The attribute's name without `account.`.
    pub name: String,
    /// Its value; `None` removes it.
    pub value: Option<serde_json::Value>,
}

/// Points a campaign awarded in a month (or, with key [`crate::account::PERIOD`], the period).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    /// The campaign's id.
    pub campaign: String,
    /// The month key.
    pub key: MonthKey,
    /// Points.
    pub points: Decimal,
}

/// A counter's value in a month (key 0 for a period counter).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CounterValue {
    /// The campaign's id.
    pub campaign: String,
    /// The counter's name.
    pub counter: String,
    /// The month key.
    pub key: MonthKey,
    /// Its value.
    pub value: Decimal,
}

/// A payment as kept: the event, what is left of it, what it counted and earned.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PaymentState {
    /// Its id.
    pub id: String,
    /// When it was made.
    pub at: Nanos,
    /// The amount paid.
    pub original: Decimal,
    /// What is left after refunds.
    pub amount: Decimal,
    /// Still provisional.
    pub provisional: bool,
    /// Refunded in full or cancelled.
    pub void: bool,
    /// The decoded event (tenders keep what is left of each).
    pub event: event::Payment,
    /// What it added to counters.
    #[serde(default)]
    pub contributions: Vec<ContributionState>,
    /// What campaigns awarded it.
    #[serde(default)]
    pub awards: Vec<AwardState>,
}

/// What a payment added to one counter.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ContributionState {
    /// The campaign's id.
    pub campaign: String,
    /// The counter's name.
    pub counter: String,
    /// The month key.
    pub key: MonthKey,
    /// What it added.
    pub value: Decimal,
    /// A `count` counter (partial refunds leave it).
    pub counts_payments: bool,
}

/// What one campaign awarded one payment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AwardState {
    /// The campaign's id.
    pub campaign: String,
    /// Points now owed.
    pub points: Decimal,
    /// The month its caps count in.
    pub month: MonthKey,
    /// The counters (by name) and months the award read.
    #[serde(default)]
    pub reads: Vec<(String, MonthKey)>,
}

/// An account's usage and counters of campaigns the loaded program does not have.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Detached {
    pub usage: Vec<Usage>,
    pub counters: Vec<CounterValue>,
}

/// A payment's awards and contributions of campaigns the loaded program does not have: on
/// the heap, and only when there are some (nearly every payment has none, and every payment
/// kept in memory carries one of these).
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct DetachedPayment(Option<Box<DetachedParts>>);

#[derive(Clone, Debug, Default, PartialEq)]
struct DetachedParts {
    contributions: Vec<ContributionState>,
    awards: Vec<AwardState>,
}

impl DetachedPayment {
    fn new(contributions: Vec<ContributionState>, awards: Vec<AwardState>) -> DetachedPayment {
        let any = !contributions.is_empty() || !awards.is_empty();
        DetachedPayment(any.then(|| Box::new(DetachedParts { contributions, awards })))
    }

    fn contributions(&self) -> &[ContributionState] {
        self.0.as_ref().map_or(&[], |parts| &parts.contributions)
    }

    fn awards(&self) -> &[AwardState] {
        self.0.as_ref().map_or(&[], |parts| &parts.awards)
    }
}

/// Names for the program's indices, and indices for names.
struct Names<'p> {
    program: &'p Program,
}

impl<'p> Names<'p> {
    fn campaign(&self, index: usize) -> &'p str {
        &self.program.campaigns[index].id
    }

    fn counter(&self, campaign: usize, counter: usize) -> &'p str {
        &self.program.campaigns[campaign].counters[counter].name
    }

    fn campaign_index(&self, id: &str) -> Option<usize> {
        self.program.campaigns.iter().position(|c| c.id == id)
    }

    fn counter_index(&self, campaign: &str, counter: &str) -> Option<(usize, usize)> {
        let ci = self.campaign_index(campaign)?;
        let k = self.program.campaigns[ci].counters.iter().position(|c| c.name == counter)?;
        Some((ci, k))
    }
}

/// An account's own state, named for keeping.
pub(crate) fn account_state(account: &Account, program: &Program) -> AccountState {
    let names = Names { program };
    let mut usage: Vec<Usage> = account
        .usage
        .iter()
        .map(|(&(c, key), &points)| Usage { campaign: names.campaign(c).to_string(), key, points })
        .chain(account.detached.usage.iter().cloned())
        .collect();
    usage.sort_by(|a, b| (&a.campaign, a.key).cmp(&(&b.campaign, b.key)));
    let mut counters: Vec<CounterValue> = account
        .counters
        .iter()
        .map(|(&(c, k, key), &value)| CounterValue {
            campaign: names.campaign(c).to_string(),
            counter: names.counter(c, k).to_string(),
            key,
            value,
        })
        .chain(account.detached.counters.iter().cloned())
        .collect();
    counters.sort_by(|a, b| (&a.campaign, &a.counter, a.key).cmp(&(&b.campaign, &b.counter, b.key)));
    AccountState {
        attributes: account
            .raw_attributes
            .iter()
            .map(|(at, name, value)| AttributeChange { at: *at, name: name.clone(), value: value.clone() })
            .collect(),
        enrollments: account.enrollments.iter().map(|(id, at)| (id.clone(), *at)).collect(),
        usage,
        counters,
    }
}

/// A payment, named for keeping.
pub(crate) fn payment_state(payment: &Payment, program: &Program) -> PaymentState {
    let names = Names { program };
    PaymentState {
        id: payment.id.to_string(),
        at: payment.at,
        original: payment.original,
        amount: payment.amount,
        provisional: payment.provisional,
        void: payment.void,
        event: (*payment.event).clone(),
        contributions: payment
            .contributions
            .iter()
            .map(|c| ContributionState {
                campaign: names.campaign(c.campaign).to_string(),
                counter: names.counter(c.campaign, c.counter).to_string(),
                key: c.key,
                value: c.value,
                counts_payments: c.counts_payments,
            })
            .chain(payment.detached.contributions().iter().cloned())
            .collect(),
        awards: payment
            .awards
            .iter()
            .map(|a| AwardState {
                campaign: names.campaign(a.campaign).to_string(),
                points: a.points,
                month: a.month,
                reads: a
                    .reads
                    .iter()
                    .map(|&(k, key)| (names.counter(a.campaign, k as usize).to_string(), key))
                    .collect(),
            })
            .chain(payment.detached.awards().iter().cloned())
            .collect(),
    }
}

/// An account restored for a program from its state and its payments (in arrival order).
pub(crate) fn restore(state: AccountState, payments: Vec<PaymentState>, program: &Program) -> Account {
    let names = Names { program };
    let mut account = Account::default();
    account.raw_attributes = state.attributes.into_iter().map(|a| (a.at, a.name, a.value)).collect();
    // Kept in time order (as the runtime writes them): a value in force is found by a search.
    account.raw_attributes.sort_by_key(|(at, _, _)| *at);
    account.enrollments = state.enrollments.into_iter().collect();
    account.attributes = crate::derive_attributes(&account.raw_attributes, program);
    for usage in state.usage {
        match names.campaign_index(&usage.campaign) {
            Some(ci) => *account.usage.or_default((ci, usage.key)) += usage.points,
            None => account.detached.usage.push(usage),
        }
    }
    for counter in state.counters {
        match names.counter_index(&counter.campaign, &counter.counter) {
            Some((ci, k)) => *account.counters.or_default((ci, k, counter.key)) += counter.value,
            None => account.detached.counters.push(counter),
        }
    }
    for p in payments {
        let (mut detached_contributions, mut detached_awards) = (Vec::new(), Vec::new());
        let mut contributions = Vec::new();
        for c in p.contributions {
            match names.counter_index(&c.campaign, &c.counter) {
                Some((campaign, counter)) => contributions.push(Contribution {
                    campaign,
                    counter,
                    key: c.key,
                    value: c.value,
                    counts_payments: c.counts_payments,
                }),
                None => detached_contributions.push(c),
            }
        }
        let mut awards = Vec::new();
        for a in p.awards {
            let Some(campaign) = names.campaign_index(&a.campaign) else {
                detached_awards.push(a);
                continue;
            };
            let reads = a
                .reads
                .iter()
                .filter_map(|(name, key)| {
                    let (_, k) = names.counter_index(&a.campaign, name)?;
                    Some((u32::try_from(k).ok()?, *key))
                })
                .collect();
            awards.push(AwardRecord { campaign, points: a.points, month: a.month, reads });
        }
        account.push_payment(Payment {
            id: crate::Id::from(p.id),
            at: p.at,
            original: p.original,
            amount: p.amount,
            provisional: p.provisional,
            void: p.void,
            event: std::sync::Arc::new(p.event),
            contributions,
            awards,
            detached: DetachedPayment::new(detached_contributions, detached_awards),
        });
    }
    account
}
