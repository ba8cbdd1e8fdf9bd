//! `kafkasim explore --report`: the exploration page states what the `--json` summary
//! says (violations by kind, failing seeds with their reproduce lines, histograms), opens
//! in headless Chromium with its self-test passing (screenshot `explore.png` under
//! `target/tmp/browser/`), goes to `reports/<scenario>-explore.html` by default, and a
//! report path it cannot write exits 2 before any seed runs.

use std::path::Path;
use std::process::{Command, Output};

use super::explore::UNSAFE;
use super::kafkasim;
use super::report::{chromium_or_skip, field, open_page, scratch};

/// The text as the page's template writes it (minijinja escapes `/` too).
fn escaped(text: &str) -> String {
    text.replace('&', "&amp;").replace('/', "&#x2f;")
}

/// `data-bars="N"` of the `<svg id="{id}">`.
fn bars(page: &str, id: &str) -> u64 {
    let svg = &page[page.find(&format!("<svg id=\"{id}\"")).expect(id)..];
    let at = svg.find("data-bars=\"").expect("data-bars") + "data-bars=\"".len();
    let end = svg[at..].find('"').expect("closing quote") + at;
    svg[at..end].parse().expect("a count")
}

fn explore_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kafkasim"))
        .arg("explore")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("binary runs")
}

#[test]
fn explore_report_shows_the_summary_of_the_json_and_opens_in_chromium() {
    let dir = scratch().join("explore-report");
    std::fs::create_dir_all(&dir).expect("dir");
    let scenario = dir.join("acks1-nemesis.json");
    std::fs::write(&scenario, UNSAFE).expect("write scenario");
    let (json, page_file) = (dir.join("explore.json"), dir.join("explore.html"));
    let path = |p: &Path| p.to_str().expect("utf-8").to_string();
    let (scenario_arg, json_arg) = (path(&scenario), path(&json));
    let report_arg = path(&page_file);
    let out = kafkasim(&[
        "explore",
        &scenario_arg,
        "--seeds",
        "1..8",
        "--jobs",
        "2",
        "-q",
        "--json",
        &json_arg,
        "--report",
        &report_arg,
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "acks=1 loses writes: {stderr}");
    assert!(
        stderr.contains(&format!("report          {report_arg}")),
        "{stderr}"
    );
    let page = std::fs::read_to_string(&page_file).expect("page written");
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("json")).expect("JSON");
    let summary = &doc["summary"];
    let failures = summary["failures"].as_array().expect("failures");
    assert!(!failures.is_empty());
    for failure in failures {
        let reproduce = failure["reproduce"].as_str().expect("reproduce");
        assert!(
            page.contains(&format!(
                "<li class=\"failure\"><code>{}</code>",
                escaped(reproduce)
            )),
            "the page lists {reproduce}"
        );
    }
    let by_kind = summary["by_kind"].as_object().expect("by_kind");
    assert!(by_kind.contains_key("lost-write"));
    for (kind, seeds) in by_kind {
        let row = format!("<td><b>{kind}</b></td><td class=\"num\">{seeds}</td>");
        assert!(page.contains(&row), "{row}");
    }
    let failed = summary["failed"].as_u64().expect("failed");
    assert!(page.contains(&format!("FAIL</span>: {failed} of 8 seeds did not match")));
    assert!(
        bars(&page, "latency-histogram") > 10,
        "latency buckets drawn"
    );
    assert!(bars(&page, "outage-histogram") > 0, "outage buckets drawn");
    assert!(page.len() < 200_000, "small: {} bytes", page.len());
    let Some(chromium) = chromium_or_skip() else {
        return;
    };
    let (line, bytes) = open_page(&chromium, "explore", &page_file);
    assert_eq!(field(&line, "failures"), failures.len() as f64, "{line}");
    assert_eq!(field(&line, "kinds"), by_kind.len() as f64, "{line}");
    assert!(field(&line, "latency_bars") > 10.0, "{line}");
    assert!(field(&line, "outage_bars") > 0.0, "{line}");
    assert_eq!(bytes, page.len() as u64);
}

#[test]
fn explore_report_goes_to_reports_by_default_and_a_bad_path_exits_2_before_running() {
    let dir = scratch().join("explore-report-default");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let calm = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/calm.json");
    let calm = calm.to_str().expect("utf-8");
    let out = explore_in(&dir, &["--report", calm, "--seeds", "1..2", "-q"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.join("reports/calm-explore.html").is_file());
    let out = explore_in(&dir, &[calm, "--seeds", "1..2", "-q", "--report=named"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(dir.join("named").is_file(), "--report=FILE takes any name");
    let refused: [(&[&str], &str); 2] = [
        (
            &["--report=/nonexistent/folder/e.html"],
            "--report: cannot write /nonexistent/folder/e.html: there is no folder /nonexistent/folder",
        ),
        (&["--report", "notes"], "`explore notes --report`"),
    ];
    for (args, message) in refused {
        let mut args = args.to_vec();
        args.extend(["--seeds", "1..2000", "-q"]); // many seeds: the check comes before any runs
        let out = explore_in(&dir, &args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{stderr}");
        assert!(out.stdout.is_empty(), "no seed ran");
    }
}
