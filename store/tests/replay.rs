//! Property: however a stream is cut into batches, however few accounts memory keeps, however
//! seldom snapshots are written, wherever a reload falls, and whether each batch is processed
//! in its own transaction or while the one before is written, the ledger a store keeps is the
//! ledger of one runtime in memory that reloaded at the same place. Accounts read back are
//! rebuilt from a snapshot and the journal since, each event replayed with the campaigns that
//! processed it, so any mistake there shows up as a different ledger. SQLite only (a file per
//! case); the PostgreSQL backend runs the same code above its `Tx`.

#[path = "support/scratch.rs"]
mod scratch;
#[path = "support/seeds.rs"]
mod seeds;

use camp_runtime::Entry;
use camp_store::{Decoded, Durable, LedgerFilter, Line};
use proptest::prelude::*;
use seeds::{files, load, seed_sources};

/// The seeds with the Ama campaign running all year at 20% (its period cap of 3000 then fills
/// from March on) and d POINT at twice its rate: a reload to these changes what events earn
/// and how fast caps fill, so replaying an event with the wrong campaigns shows.
fn changed_sources() -> Vec<(String, String)> {
    let mut sources = seed_sources();
    let mut change = |file: &str, from: &str, to: &str| {
        let text = sources.iter_mut().find(|(name, _)| name == file).map(|(_, text)| text);
        let text = text.unwrap_or_else(|| panic!("no seed {file}"));
        assert!(text.contains(from), "{file} no longer says {from:?}");
        *text = text.replace(from, to);
    };
    change("ama-toku-4.camp", "to 2026-02-28 23:59:59", "to 2026-12-31 23:59:59");
    change("ama-toku-4.camp", "award 10% up to", "award 20% up to");
    change("amazon-dpoint.camp", "award 1% * multiplier", "award 2% * multiplier");
    sources
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn a_stored_ledger_is_one_runtimes_however_state_is_kept(
        seed in 1u64..1_000_000,
        events in 50usize..400,
        accounts in 1u64..6,
        batch in 1usize..40,
        cache in 1usize..6,
        every in 1usize..80,
        reload in proptest::option::of(0usize..400),
        restart in proptest::option::of(0usize..400),
        submitted in any::<bool>(),
    ) {
        let lines: Vec<String> = camp_runtime::synthetic::stream(events, accounts, seed).collect();
        let (seeds, changed) = (seed_sources(), changed_sources());
        let reload = reload.filter(|r| *r < lines.len());

        let mut rt = load(&seeds);
        let mut expected = Vec::new();
        for (i, line) in lines.iter().enumerate() {
            if Some(i) == reload {
                rt.reload_sources(&files(&changed), None).unwrap_or_else(|e| panic!("{e}"));
            }
            expected.extend(rt.process_line(i + 1, line).iter().filter(|e| e.owed_key().is_some()).map(Entry::to_json));
        }

        let dir = scratch::Scratch::new("camp-replay", &format!("{seed}-{events}-{batch}"));
        let at = dir.join("ledger.db");
        let open = |sources: &[(String, String)]| {
            let store = camp_store::open(&at.display().to_string()).unwrap_or_else(|e| panic!("{e}"));
            Durable::new(load(sources), store).with_cache_limit(cache).with_snapshot_every(every)
        };
        let mut durable = open(&seeds);
        let numbered: Vec<Line<'_>> = lines.iter().enumerate().map(|(i, text)| Line { number: i + 1, text }).collect();
        let mut reloaded = false;
        let mut start = 0;
        let (told, outcomes) = std::sync::mpsc::channel();
        while start < numbered.len() {
            // A reload or a restart (a new process: nothing in memory) happens before the line
            // named, so batches are cut there.
            let mut end = (start + batch).min(numbered.len());
            for cut in [reload, restart].into_iter().flatten() {
                if cut > start && cut < end {
                    end = cut;
                }
            }
            if Some(start) == reload {
                durable.reload(&files(&changed), None).unwrap_or_else(|e| panic!("{e}"));
                reloaded = true;
            }
            if Some(start) == restart {
                // What was submitted is written before the process ends.
                drop(durable.close());
                durable = open(if reloaded { &changed } else { &seeds });
            }
            if submitted {
                // Processed while the batch before is written.
                let decoded = numbered[start..end].iter().map(|l| Decoded::line(l.number, l.text)).collect();
                let told = told.clone();
                durable.submit(decoded, Box::new(move |outcome| drop(told.send(outcome.map(|_| ())))));
            } else {
                durable.apply(&numbered[start..end]).unwrap_or_else(|e| panic!("{e}"));
            }
            start = end;
        }
        durable.flush();
        drop(told);
        for outcome in outcomes {
            outcome.unwrap_or_else(|e| panic!("a batch submitted was not kept: {e}"));
        }
        let kept = durable.store().ledger(&LedgerFilter::default()).unwrap_or_else(|e| panic!("{e}"));
        prop_assert!(kept == expected, "{} entries kept, {} expected", kept.len(), expected.len());
    }
}
