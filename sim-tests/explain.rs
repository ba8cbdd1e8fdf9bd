//! The plain-words explanation of a real failing run: the known-failure catalogue's entry 1
//! (an unclean election loses acknowledged writes) at its pinned seed.

use std::path::Path;

use kafkasim::explain::{STEPS_MAX, explain};
use kafkasim::violation::ViolationKind;

use super::{load, run_seed};

#[test]
fn the_unclean_election_entry_is_explained_election_then_truncation_then_loss() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/known/01-unclean-election.json");
    let scenario = load(&path);
    let report = run_seed(&scenario, scenario.seed);
    let lost = report
        .violations
        .iter()
        .find(|v| v.kind == ViolationKind::LostWrite)
        .expect("entry 1 loses a write at its pinned seed");
    let explanation = explain(&report.history, lost);
    let rendered = explanation.render();
    let value = &lost.values[0];
    assert_eq!(
        explanation.headline,
        format!(
            "producer-1's write {value}, acknowledged at {} at offset {} of events-0, is missing \
             from the final log.",
            kafkasim::explain::seconds(
                explanation
                    .steps
                    .iter()
                    .find(|s| s.text.contains("was acknowledged"))
                    .expect("the ack is a step")
                    .time
            ),
            lost.offsets[0]
        ),
        "{rendered}"
    );
    assert!(explanation.steps.len() <= STEPS_MAX, "{rendered}");
    let times: Vec<_> = explanation.steps.iter().map(|s| s.time).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{rendered}");
    let position = |needle: &str| {
        explanation
            .steps
            .iter()
            .position(|s| s.text.contains(needle))
            .unwrap_or_else(|| panic!("no step says {needle:?}:\n{rendered}"))
    };
    let unclean = position("unclean: chosen from outside the ISR and ELR");
    let removed = position(&format!("this removed {value}"));
    let last = explanation.steps.len() - 1;
    assert!(
        unclean < removed,
        "the election comes before the cut:\n{rendered}"
    );
    assert!(
        explanation.steps[last]
            .text
            .contains(&format!("without {value}")),
        "the story ends with the final log lacking the write:\n{rendered}"
    );
    // Every step points at a history event.
    assert!(
        explanation.steps.iter().all(|s| s.event.is_some()),
        "{rendered}"
    );

    // `run`'s readable summary carries the same explanation for its first violation.
    let text = kafkasim::harness::report::to_text(&scenario.name, "lost-write", &report, "r");
    let first = explain(&report.history, &report.violations[0]);
    assert!(
        text.contains("explanation   (of the first violation)\n"),
        "{text}"
    );
    assert!(text.contains(&format!("  {}\n", first.headline)), "{text}");
    // And `run --json` as an added field, `explanation`.
    let json = kafkasim::harness::report::to_json(&scenario.name, &report, "r");
    let value: serde_json::Value = serde_json::from_str(&json).expect("one JSON object");
    assert_eq!(value["explanation"]["headline"], first.headline.as_str());
    assert_eq!(
        value["explanation"]["steps"].as_array().map(Vec::len),
        Some(first.steps.len())
    );
}
