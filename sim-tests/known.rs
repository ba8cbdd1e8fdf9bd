//! The known-failure catalogue (`scenarios/known/`): each affected scenario's violations
//! are explained by the setting or the known bug the catalogue entry is about, and its
//! fixed twin shows nothing a known bug or the model would have to explain.

use std::path::Path;

use super::{load, run_seed, scenario_files};

/// Per catalogue file prefix: what must explain the affected run's violations.
const EXPLAINED_BY: [(&str, &str); 10] = [
    ("01-", "unclean_leader_election"),
    ("02-", "acks=1"),
    ("03-", "min_insync_replicas=1"),
    ("04-", "KIP-101"),
    ("08-", "flush=never with power loss"),
    ("09-", "KIP-966"),
    ("10-", "acks=1"),
    ("11-", "consumer_read_limit=log-end"),
    ("12-", "idempotent_producer=false"),
    ("13-", "idempotent_producer=false"),
];

#[test]
fn catalogue_violations_carry_their_entry_and_twins_carry_no_bug() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/known");
    let files = scenario_files(&dir);
    let mut affected = 0;
    for path in &files {
        let name = path
            .file_name()
            .expect("file")
            .to_string_lossy()
            .to_string();
        let scenario = load(path);
        let report = run_seed(&scenario, scenario.seed);
        for v in &report.violations {
            assert!(
                !v.unexplained(),
                "{name}: {} is explained by neither the configuration nor a known bug: {}",
                v.kind,
                v.message
            );
        }
        if name.contains("-fixed") || name.starts_with("14-") {
            for v in &report.violations {
                assert_eq!(v.known_bug, None, "{name}: the fix leaves {}", v.kind);
            }
            continue;
        }
        let (_, reason) = EXPLAINED_BY
            .iter()
            .find(|(prefix, _)| name.starts_with(prefix))
            .unwrap_or_else(|| panic!("{name}: no catalogue entry"));
        assert!(!report.violations.is_empty(), "{name}: no violation");
        for v in &report.violations {
            let by = [v.permitted_by.as_deref(), v.known_bug.as_deref()];
            assert!(
                by.iter().flatten().any(|b| b.starts_with(reason)),
                "{name}: {} explained by {by:?}, expected {reason}",
                v.kind
            );
        }
        affected += 1;
    }
    assert_eq!(affected, EXPLAINED_BY.len(), "every entry has its scenario");
}
