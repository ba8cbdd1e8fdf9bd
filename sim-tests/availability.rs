//! Outages and produce latency in `run --json`, end to end through the binary: an
//! explicit leader crash gives an outage of that partition caused by the crash; a run
//! without faults gives none. Timings move with the model (failure detection), so the
//! checks are on structure and generous ranges, not on exact times.

use super::kafkasim;

fn run_json(scenario: &str) -> serde_json::Value {
    let path = format!("{}/scenarios/{scenario}", env!("CARGO_MANIFEST_DIR"));
    let out = kafkasim(&["run", &path, "--json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{scenario}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("run --json is JSON")
}

/// `stats.produce_latency_ms` holds p50 <= p99 <= max, all positive.
fn latency(result: &serde_json::Value) -> (f64, f64, f64) {
    let l = &result["stats"]["produce_latency_ms"];
    let get = |k: &str| l[k].as_f64().unwrap_or_else(|| panic!("{k}: {l}"));
    let (p50, p99, max) = (get("p50"), get("p99"), get("max"));
    assert!(0.0 < p50 && p50 <= p99 && p99 <= max, "{l}");
    (p50, p99, max)
}

#[test]
fn a_leader_crash_shows_as_an_outage_of_its_partition_caused_by_the_crash() {
    // scenarios/leader-crash.json: the leader of events-0 crashes at 2 s, every broker
    // restarts at 5 s, the workload ends at 8 s.
    let result = run_json("leader-crash.json");
    let outages = result["outages"].as_array().expect("an outages list");
    for o in outages {
        for field in [
            "partition",
            "from_ms",
            "to_ms",
            "cause",
            "kind",
            "length_ms",
        ] {
            assert!(!o[field].is_null(), "outage without {field}: {o}");
        }
        let (from, to) = (o["from_ms"].as_u64().unwrap(), o["to_ms"].as_u64().unwrap());
        assert!(from < to && to <= 8000, "within the workload: {o}");
        assert!(o["length_ms"].as_u64() >= Some(250), "{o}");
    }
    let crash = outages
        .iter()
        .find(|o| o["partition"] == "events-0")
        .unwrap_or_else(|| panic!("no outage of events-0: {outages:?}"));
    let cause = crash["cause"].as_str().expect("cause");
    assert!(cause.contains("crash"), "cause of {crash}");
    assert_eq!(crash["kind"], "crash");
    let from = crash["from_ms"].as_u64().unwrap();
    assert!(
        (1500..=2500).contains(&from),
        "begins at about the crash (2 s): {crash}"
    );
    let (_, _, max) = latency(&result);
    assert!(
        max >= 250.0,
        "a send waited through the outage: max {max} ms"
    );
}

#[test]
fn a_run_without_faults_has_no_outage() {
    let result = run_json("calm.json");
    assert_eq!(
        result["outages"],
        serde_json::json!([]),
        "{}",
        result["outages"]
    );
    latency(&result);
}
