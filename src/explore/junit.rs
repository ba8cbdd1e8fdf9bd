//! `explore --junit FILE` (and `merge --junit`): an exploration as JUnit XML, the shape
//! nextest and pytest write, so that GitLab, Jenkins and GitHub test reporters show each
//! seed as a test. Built from the [`Exploration`] alone (what `--json` holds), with
//! quick-xml's writer, which escapes every attribute and text.
//!
//! ```xml
//! <testsuites name="kafkasim" tests="3" failures="1" errors="0" skipped="0" time="2.104">
//!   <testsuite name="acks1" tests="3" failures="1" errors="0" skipped="0" time="2.104">
//!     <properties><property name="seeds" value="1..3"/>...</properties>
//!     <testcase name="seed 1" classname="kafkasim.acks1" time="0.701"/>
//!     <testcase name="seed 2" classname="kafkasim.acks1" time="0.698">
//!       <failure message="lost-write; reproduce: kafkasim run acks1.json --seed 2"
//!                type="violation">seed 2 ...</failure>
//!     </testcase>
//!   </testsuite>
//! </testsuites>
//! ```
//!
//! One testcase per seed that ran (seeds a `--fail-fast` or `--time-limit-s` stop left
//! out are not tests, so `skipped` is 0); `time` is wall seconds. A seed whose outcome
//! did not match `expect` has a `failure` whose message and text carry its violation
//! kinds (or the expected kinds it did not find) and its reproduce command.

use std::collections::BTreeMap;
use std::io;

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesText, Event};

use super::summary::{Exploration, Failure, SeedResult, Summary};

/// The JUnit XML document of `exploration`.
pub fn render(exploration: &Exploration) -> String {
    let mut writer = Writer::new_with_indent(Vec::new(), b' ', 2);
    write_document(&mut writer, exploration).expect("writing to memory cannot fail");
    String::from_utf8(writer.into_inner()).expect("quick-xml writes the UTF-8 it is given") + "\n"
}

/// `0.250`: seconds with millisecond precision, as JUnit's `time` attributes carry them.
fn seconds(s: f64) -> String {
    format!("{:.3}", s.max(0.0))
}

fn write_document(w: &mut Writer<Vec<u8>>, e: &Exploration) -> io::Result<()> {
    let s = &e.summary;
    let (tests, failures, time) = (
        s.seeds_run.to_string(),
        s.failed.to_string(),
        seconds(s.wall_s),
    );
    let counts = [
        ("tests", tests.as_str()),
        ("failures", failures.as_str()),
        ("errors", "0"),
        ("skipped", "0"),
        ("time", time.as_str()),
    ];
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    w.create_element("testsuites")
        .with_attribute(("name", "kafkasim"))
        .with_attributes(counts)
        .write_inner_content(|w| {
            w.create_element("testsuite")
                .with_attribute(("name", s.scenario.as_str()))
                .with_attributes(counts)
                .write_inner_content(|w| write_suite(w, e))?;
            Ok(())
        })?;
    Ok(())
}

fn write_suite(w: &mut Writer<Vec<u8>>, e: &Exploration) -> io::Result<()> {
    let s = &e.summary;
    write_properties(w, s)?;
    let classname = format!("kafkasim.{}", s.scenario);
    let failures: BTreeMap<u64, &Failure> = s.failures.iter().map(|f| (f.seed, f)).collect();
    for seed in &e.seeds {
        let name = format!("seed {}", seed.seed);
        let time = seconds(seed.wall_s.0);
        let case = w
            .create_element("testcase")
            .with_attribute(("name", name.as_str()))
            .with_attribute(("classname", classname.as_str()))
            .with_attribute(("time", time.as_str()));
        // `failures` holds exactly the seeds that did not pass (`Exploration::new`).
        match failures.get(&seed.seed) {
            None => case.write_empty()?,
            Some(failure) => case.write_inner_content(|w| write_failure(w, s, seed, failure))?,
        };
    }
    Ok(())
}

/// The range, shard and stop of the run, as `<property>` elements.
fn write_properties(w: &mut Writer<Vec<u8>>, s: &Summary) -> io::Result<()> {
    let jobs = s.jobs.to_string();
    let mut properties = vec![
        ("scenario_file", s.scenario_file.as_str()),
        ("seeds", s.seeds.as_str()),
        ("shard", s.shard.as_str()),
    ];
    if let Some(from) = &s.shard_from {
        properties.push(("shard_from", from));
    }
    properties.push(("jobs", &jobs));
    if let Some(why) = &s.stopped {
        properties.push(("stopped", why));
    }
    w.create_element("properties").write_inner_content(|w| {
        for (name, value) in properties {
            w.create_element("property")
                .with_attribute(("name", name))
                .with_attribute(("value", value))
                .write_empty()?;
        }
        Ok(())
    })?;
    Ok(())
}

fn write_failure(
    w: &mut Writer<Vec<u8>>,
    s: &Summary,
    seed: &SeedResult,
    failure: &Failure,
) -> io::Result<()> {
    let what = what_failed(&s.expected_violations, &failure.violations);
    let kind = if s.expected_violations.is_empty() && !failure.violations.is_empty() {
        "violation"
    } else {
        "missing-violation"
    };
    let message = format!("{what}; reproduce: {}", failure.reproduce);
    let text = format!(
        "seed {} did not match `expect`: {what}\ntrace hash {}, {} simulated ms\nreproduce: {}\n",
        seed.seed, seed.trace_hash, seed.sim_ms, failure.reproduce
    );
    w.create_element("failure")
        .with_attribute(("message", message.as_str()))
        .with_attribute(("type", kind))
        .write_text_content(BytesText::new(&text))?;
    Ok(())
}

/// A failing seed in words: the violations it found when the scenario expects a pass,
/// else the expected kinds it did not find.
pub fn what_failed(expected: &[String], found: &[String]) -> String {
    if expected.is_empty() {
        return if found.is_empty() {
            // A file from before `expected_violations` was recorded.
            "expected violations but the run passed".to_string()
        } else {
            found.join(", ")
        };
    }
    let expected_text = expected.join(", ");
    if found.is_empty() {
        return format!("expected violations {expected_text} but the run passed");
    }
    let missing: Vec<&str> = expected
        .iter()
        .filter(|k| !found.contains(k))
        .map(String::as_str)
        .collect();
    format!(
        "expected violations {expected_text} but {} did not occur (found {})",
        missing.join(", "),
        found.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use quick_xml::events::BytesStart;
    use quick_xml::{Reader, XmlVersion};

    use super::*;
    use crate::explore::availability::SeedAvailability;
    use crate::explore::summary::{Origin, WallSeconds};

    fn result(seed: u64, pass: bool, kinds: &[&str]) -> SeedResult {
        SeedResult {
            seed,
            outcome: if pass { "pass" } else { "fail" }.into(),
            violations: kinds.iter().map(|k| k.to_string()).collect(),
            trace_hash: format!("{seed:016x}"),
            sim_ms: 10_000,
            messages: 10,
            coverage: Default::default(),
            availability: SeedAvailability::default(),
            wall_s: WallSeconds(0.5 + seed as f64 / 1000.0),
        }
    }

    fn exploration(expected: &[&str], seeds: Vec<SeedResult>) -> Exploration {
        let origin = Origin {
            scenario: "acks<1>&".into(),
            scenario_file: "scenarios/a \"b\".json".into(),
            seeds: "1..5".into(),
            shard: "2/4".into(),
            shard_from: Some("SLURM_ARRAY_TASK_ID".into()),
            expected_violations: expected.iter().map(|k| k.to_string()).collect(),
            jobs: 2,
            possible: BTreeMap::new(),
        };
        Exploration::new(origin, seeds, 3.25, Some("fail-fast".into()))
    }

    /// A testcase's attributes, and its failure's attributes and text.
    type Case = (
        BTreeMap<String, String>,
        Option<(BTreeMap<String, String>, String)>,
    );

    /// What a JUnit reader sees: per element name, its attributes; per testcase its
    /// attributes and its failure's attributes and text.
    #[derive(Debug, Default)]
    struct Parsed {
        suites: Vec<BTreeMap<String, String>>,
        suite: Vec<BTreeMap<String, String>>,
        properties: BTreeMap<String, String>,
        cases: Vec<Case>,
    }

    fn attributes(e: &BytesStart) -> BTreeMap<String, String> {
        e.attributes()
            .map(|a| {
                let a = a.expect("well-formed attribute");
                let key = a.key.as_ref().to_string();
                (
                    key,
                    a.normalized_value(XmlVersion::Explicit1_0)
                        .expect("escaped value")
                        .into_owned(),
                )
            })
            .collect()
    }

    fn parse(xml: &str) -> Parsed {
        let mut reader = Reader::from_str(xml);
        let mut parsed = Parsed::default();
        let mut text: Option<String> = None;
        loop {
            match reader.read_event().expect("well-formed XML") {
                Event::Start(e) | Event::Empty(e) => {
                    let a = attributes(&e);
                    match e.name().as_ref() {
                        "testsuites" => parsed.suites.push(a),
                        "testsuite" => parsed.suite.push(a),
                        "property" => {
                            parsed
                                .properties
                                .insert(a["name"].clone(), a["value"].clone());
                        }
                        "testcase" => parsed.cases.push((a, None)),
                        "failure" => {
                            let case = parsed.cases.last_mut().expect("failure inside a testcase");
                            case.1 = Some((a, String::new()));
                            text = Some(String::new());
                        }
                        _ => {}
                    }
                }
                Event::Text(t) => {
                    if let Some(text) = &mut text {
                        text.push_str(&t.xml10_content());
                    }
                }
                Event::GeneralRef(r) => {
                    if let Some(text) = &mut text {
                        let entity = format!("&{};", &*r);
                        text.push_str(&quick_xml::escape::unescape(&entity).expect("known entity"));
                    }
                }
                Event::End(e) if e.name().as_ref() == "failure" => {
                    let case = parsed.cases.last_mut().expect("a testcase");
                    case.1.as_mut().expect("a failure").1 = text.take().expect("failure text");
                }
                Event::Eof => break,
                _ => {}
            }
        }
        parsed
    }

    #[test]
    fn the_xml_parses_back_with_the_summary_counts_and_each_failure() {
        let e = exploration(
            &[],
            vec![
                result(2, true, &[]),
                result(6, false, &["lost-write", "divergence"]),
                result(10, true, &[]),
            ],
        );
        let xml = render(&e);
        assert!(
            xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"),
            "{xml}"
        );
        let p = parse(&xml);
        let s = &e.summary;
        for counts in [&p.suites[0], &p.suite[0]] {
            assert_eq!(counts["tests"], s.seeds_run.to_string());
            assert_eq!(counts["failures"], s.failed.to_string());
            assert_eq!(
                (counts["errors"].as_str(), counts["skipped"].as_str()),
                ("0", "0")
            );
            assert_eq!(counts["time"], "3.250");
        }
        assert_eq!(
            (p.suites.len(), p.suite.len()),
            (1, 1),
            "one suite in one root"
        );
        assert_eq!(p.suite[0]["name"], "acks<1>&", "escaped and read back");
        assert_eq!(p.properties["shard"], "2/4");
        assert_eq!(p.properties["shard_from"], "SLURM_ARRAY_TASK_ID");
        assert_eq!(p.properties["stopped"], "fail-fast");
        assert_eq!(p.properties["scenario_file"], "scenarios/a \"b\".json");
        let names: Vec<&str> = p.cases.iter().map(|(a, _)| a["name"].as_str()).collect();
        assert_eq!(names, ["seed 2", "seed 6", "seed 10"]);
        assert!(
            p.cases
                .iter()
                .all(|(a, _)| a["classname"] == "kafkasim.acks<1>&")
        );
        assert_eq!(p.cases[1].0["time"], "0.506");
        let failed: Vec<_> = p.cases.iter().filter_map(|(_, f)| f.as_ref()).collect();
        assert_eq!(failed.len() as u64, s.failed);
        let (failure, text) = failed[0];
        let reproduce = "kafkasim run scenarios/a \"b\".json --seed 6";
        assert_eq!(s.failures[0].reproduce, reproduce);
        assert_eq!(
            failure["message"],
            format!("lost-write, divergence; reproduce: {reproduce}")
        );
        assert_eq!(failure["type"], "violation");
        assert!(
            text.contains("seed 6 did not match `expect`: lost-write, divergence"),
            "{text}"
        );
        assert!(
            text.contains(&format!("reproduce: {reproduce}\n")),
            "{text}"
        );
    }

    #[test]
    fn a_seed_that_missed_the_expected_violations_says_so() {
        let e = exploration(
            &["lost-write", "duplicate"],
            vec![
                result(1, true, &["lost-write", "duplicate"]),
                result(2, false, &[]),
                result(3, false, &["lost-write"]),
            ],
        );
        let p = parse(&render(&e));
        assert_eq!(p.suite[0]["failures"], "2");
        let message = |i: usize| p.cases[i].1.as_ref().expect("a failure").0["message"].clone();
        assert!(p.cases[0].1.is_none(), "finding the expected kinds passes");
        assert_eq!(
            message(1),
            "expected violations lost-write, duplicate but the run passed; \
             reproduce: kafkasim run scenarios/a \"b\".json --seed 2"
        );
        let partly = "expected violations lost-write, duplicate but duplicate did not occur \
                      (found lost-write); reproduce: ";
        assert!(message(2).starts_with(partly), "{}", message(2));
        assert_eq!(
            p.cases[1].1.as_ref().unwrap().0["type"],
            "missing-violation"
        );
    }

    #[test]
    fn no_seed_gives_an_empty_suite() {
        let p = parse(&render(&exploration(&[], Vec::new())));
        assert_eq!(
            (
                p.suite[0]["tests"].as_str(),
                p.suite[0]["failures"].as_str()
            ),
            ("0", "0")
        );
        assert!(p.cases.is_empty());
    }
}
