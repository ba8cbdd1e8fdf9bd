//! The known-failure catalogue (`scenarios/known/`): at its pinned seed each affected
//! scenario shows its entry's failure (explained by the entry's setting or known bug),
//! its fixed twin at the same seed shows neither that failure nor anything unexplained,
//! and the entry-14 scenarios show no violation at all.

use std::path::Path;

use kafkasim::catalogue::{ENTRIES, Role, role_of};
use kafkasim::scenario::Expect;

use super::{load, run_seed, scenario_files};

#[test]
fn catalogue_scenarios_show_their_entry_and_twins_do_not() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/known");
    let mut affected = Vec::new();
    for path in &scenario_files(&dir) {
        let name = path
            .file_name()
            .expect("file")
            .to_string_lossy()
            .to_string();
        let role = role_of(&name).unwrap_or_else(|| panic!("{name}: not a catalogue name"));
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
        match role {
            Role::Affected(entry) => {
                let Expect::Violations(expected) = &scenario.expect else {
                    panic!("{name}: an affected scenario expects violations");
                };
                assert!(
                    role.hit(expected, &report.violations),
                    "{name}: no {expected:?} explained by {}",
                    entry.explained_by
                );
                affected.push(entry.number);
            }
            Role::Fixed(_) | Role::NoFalseAlarm => assert!(
                !role.hit(&[], &report.violations),
                "{name}: the entry is back: {:?}",
                report.violations
            ),
        }
    }
    let missing: Vec<&str> = ENTRIES
        .iter()
        .map(|e| e.number)
        .filter(|n| !affected.contains(n))
        .collect();
    assert!(
        missing.is_empty(),
        "entries without a scenario: {missing:?}"
    );
}
