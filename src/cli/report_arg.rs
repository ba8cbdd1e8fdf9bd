//! `run [SCENARIO] --report [FILE]` and `explore [SCENARIO] --report [FILE]`: which word
//! is the scenario and which the report, and where the page goes.
//!
//! `--report` takes an optional value, and both commands an optional scenario, so in
//! `run --report x` the parser hands `x` to `--report` whatever it is. The rule users
//! expect, applied here after parsing:
//! - `--report=FILE` is always the report path, exactly as given;
//! - `--report WORD` takes WORD as the report path when it ends in `.html` or `.htm` or
//!   names a folder (ends in `/` or is an existing directory);
//! - a WORD ending in `.json` is the scenario (`run --report s.json` is
//!   `run s.json --report`), unless a scenario was given too;
//! - any other WORD is refused, with the two ways to say what was meant.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::Context;

/// The report path `--report` without a value stands for: a folder, so the file is
/// `reports/<scenario>-<seed>.html`.
pub const DEFAULT_REPORT: &str = "reports/";

/// How `--report` was given on the command line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ReportForm {
    /// Not attached with `=`: `--report` alone or `--report WORD`.
    #[default]
    Separate,
    /// `--report=FILE`.
    Attached,
}

impl ReportForm {
    /// `Attached` when a word before any `--` starts with `--report=`. The parser does not
    /// tell the two forms apart, and only `--report=FILE` is unambiguous.
    pub fn of(args: &[OsString]) -> ReportForm {
        let attached = args
            .iter()
            .skip(1)
            .take_while(|a| *a != "--")
            .any(|a| a.to_string_lossy().starts_with("--report="));
        if attached {
            ReportForm::Attached
        } else {
            ReportForm::Separate
        }
    }
}

/// The scenario to run and where the report goes, after the rule above.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    /// The scenario file; `None` for the built-in default.
    pub scenario: Option<PathBuf>,
    /// The report path (a file, or a folder for `<scenario>-<seed>.html`); `None` for
    /// no report.
    pub report: Option<PathBuf>,
}

/// Applies the rule to the parsed `[SCENARIO]` and `--report` value of `command` (`run`,
/// `explore`). `Err` is a usage error (exit code 2) saying what to write instead.
pub fn resolve(
    command: &str,
    scenario: Option<PathBuf>,
    report: Option<PathBuf>,
    form: ReportForm,
) -> anyhow::Result<Resolved> {
    let Some(word) = report else {
        return Ok(Resolved { scenario, report });
    };
    if form == ReportForm::Attached || is_report_path(&word) {
        return Ok(Resolved {
            scenario,
            report: Some(word),
        });
    }
    let shown = word.display();
    if has_extension(&word, &["json"]) {
        return match scenario {
            None => Ok(Resolved {
                scenario: Some(word),
                report: Some(PathBuf::from(DEFAULT_REPORT)),
            }),
            Some(first) => Err(anyhow::anyhow!(
                "--report {shown}: the report is an HTML page, and {shown} looks like a \
                 scenario (.json) while the scenario is already {}; name the report \
                 FILE.html or a folder, or write --report={shown} to use that name anyway",
                first.display()
            )),
        };
    }
    Err(anyhow::anyhow!(
        "--report {shown}: a report path ends in .html or names a folder (ends in /), and a \
         scenario ends in .json; write --report={shown} to write the report there, or \
         `{command} {shown} --report` to run {shown} as the scenario"
    ))
}

/// Where a page for `--report` FILE goes: FILE itself, or `name` inside it when FILE is
/// a folder (existing, or named with a trailing `/`, then created).
pub fn page_path(file: &Path, name: &str) -> anyhow::Result<PathBuf> {
    let folder = file.is_dir() || file.as_os_str().to_string_lossy().ends_with('/');
    if !folder {
        return Ok(file.to_path_buf());
    }
    std::fs::create_dir_all(file)
        .with_context(|| format!("--report: cannot create {}", file.display()))?;
    Ok(file.join(name))
}

/// Writes `text` where [`page_path`] says; returns the path written.
pub fn write_page(file: &Path, name: &str, text: &str) -> anyhow::Result<PathBuf> {
    let path = page_path(file, name)?;
    std::fs::write(&path, text)
        .with_context(|| format!("--report: cannot write {}", path.display()))?;
    Ok(path)
}

/// Ends in `.html`/`.htm`, ends in `/`, or is an existing directory.
fn is_report_path(word: &Path) -> bool {
    has_extension(word, &["html", "htm"])
        || word.as_os_str().to_string_lossy().ends_with('/')
        || word.is_dir()
}

/// The file name ends in `.EXT` for one of `extensions` (any letter case).
fn has_extension(word: &Path, extensions: &[&str]) -> bool {
    word.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| extensions.iter().any(|x| e.eq_ignore_ascii_case(x)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    /// `kafkasim run ARGS...` parsed and resolved as the binary does it.
    fn run_args(args: &[&str]) -> anyhow::Result<Resolved> {
        let mut argv: Vec<OsString> = vec!["kafkasim".into(), "run".into()];
        argv.extend(args.iter().map(OsString::from));
        let cli = Cli::try_parse_from(&argv).map_err(|e| anyhow::anyhow!("clap: {e}"))?;
        let Command::Run(run) = cli.command else {
            panic!("parsed as another command")
        };
        resolve("run", run.scenario, run.report, ReportForm::of(&argv))
    }

    fn resolved(scenario: Option<&str>, report: Option<&str>) -> Resolved {
        Resolved {
            scenario: scenario.map(PathBuf::from),
            report: report.map(PathBuf::from),
        }
    }

    #[test]
    fn report_alone_chooses_the_default_path() {
        assert_eq!(
            run_args(&["--report"]).unwrap(),
            resolved(None, Some("reports/"))
        );
        assert_eq!(
            run_args(&["s.json", "--report"]).unwrap(),
            resolved(Some("s.json"), Some("reports/"))
        );
        assert_eq!(
            run_args(&["--report", "--json"]).unwrap(),
            resolved(None, Some("reports/"))
        );
        assert_eq!(
            run_args(&["s.json"]).unwrap(),
            resolved(Some("s.json"), None)
        );
    }

    #[test]
    fn report_with_a_space_or_an_equals_sign_names_the_file() {
        for args in [
            &["--report", "out.html"][..],
            &["--report=out.html"],
            &["--report", "OUT.HTM", "--seed", "3"],
        ] {
            let got = run_args(args).unwrap();
            assert_eq!(got.scenario, None, "{args:?}");
            let report = got.report.unwrap();
            assert!(
                report
                    .to_string_lossy()
                    .to_lowercase()
                    .starts_with("out.htm")
            );
        }
        assert_eq!(
            run_args(&["s.json", "--report", "out.html"]).unwrap(),
            resolved(Some("s.json"), Some("out.html"))
        );
        assert_eq!(
            run_args(&["--report", "out.html", "s.json"]).unwrap(),
            resolved(Some("s.json"), Some("out.html"))
        );
        assert_eq!(
            run_args(&["s.json", "--report=out.html"]).unwrap(),
            resolved(Some("s.json"), Some("out.html"))
        );
    }

    #[test]
    fn a_folder_is_a_report_path() {
        assert_eq!(
            run_args(&["--report", "out/", "s.json"]).unwrap(),
            resolved(Some("s.json"), Some("out/"))
        );
        // An existing directory without the trailing slash (src/ exists in the crate).
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let dir = dir.to_str().unwrap();
        assert_eq!(
            run_args(&["--report", dir]).unwrap(),
            resolved(None, Some(dir))
        );
    }

    #[test]
    fn a_json_word_after_report_is_the_scenario() {
        assert_eq!(
            run_args(&["--report", "s.json"]).unwrap(),
            resolved(Some("s.json"), Some("reports/"))
        );
        assert_eq!(
            run_args(&["--report", "S.JSON", "--seed", "4"]).unwrap(),
            resolved(Some("S.JSON"), Some("reports/"))
        );
    }

    #[test]
    fn an_equals_sign_takes_any_name_as_the_report() {
        assert_eq!(
            run_args(&["--report=s.json"]).unwrap(),
            resolved(None, Some("s.json"))
        );
        assert_eq!(
            run_args(&["a.json", "--report=notes"]).unwrap(),
            resolved(Some("a.json"), Some("notes"))
        );
    }

    #[test]
    fn ambiguous_words_are_refused_with_both_readings() {
        let err = run_args(&["a.json", "--report", "b.json"])
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("--report b.json: "), "{err}");
        assert!(err.contains("the scenario is already a.json"), "{err}");
        assert!(err.contains("--report=b.json"), "{err}");
        let err = run_args(&["--report", "notes"]).unwrap_err().to_string();
        assert!(err.starts_with("--report notes: "), "{err}");
        assert!(err.contains("--report=notes"), "{err}");
        assert!(err.contains("`run notes --report`"), "{err}");
        // An empty attached value is clap's usage error (exit code 2 as well).
        let err = run_args(&["--report="]).unwrap_err().to_string();
        assert!(err.contains("a value is required for '--report"), "{err}");
    }

    #[test]
    fn only_a_report_word_before_double_dash_counts_as_attached() {
        let argv = |words: &[&str]| words.iter().map(OsString::from).collect::<Vec<_>>();
        assert_eq!(
            ReportForm::of(&argv(&["kafkasim", "run", "--report=x"])),
            ReportForm::Attached
        );
        assert_eq!(
            ReportForm::of(&argv(&["kafkasim", "run", "--report", "x"])),
            ReportForm::Separate
        );
        assert_eq!(
            ReportForm::of(&argv(&["kafkasim", "run", "--", "--report=x"])),
            ReportForm::Separate
        );
    }

    /// `kafkasim explore ARGS...` parsed and resolved as the binary does it.
    fn explore_args(args: &[&str]) -> anyhow::Result<Resolved> {
        let mut argv: Vec<OsString> = vec!["kafkasim".into(), "explore".into()];
        argv.extend(args.iter().map(OsString::from));
        let cli = Cli::try_parse_from(&argv).map_err(|e| anyhow::anyhow!("clap: {e}"))?;
        let Command::Explore(explore) = cli.command else {
            panic!("parsed as another command")
        };
        resolve(
            "explore",
            explore.scenario,
            explore.report,
            ReportForm::of(&argv),
        )
    }

    #[test]
    fn explore_reads_report_by_the_same_rule() {
        assert_eq!(
            explore_args(&["--seeds", "1..9", "--report"]).unwrap(),
            resolved(None, Some("reports/"))
        );
        assert_eq!(
            explore_args(&["s.json", "--report", "e.html", "--seeds", "1..9"]).unwrap(),
            resolved(Some("s.json"), Some("e.html"))
        );
        assert_eq!(
            explore_args(&["--report=e", "s.json"]).unwrap(),
            resolved(Some("s.json"), Some("e"))
        );
        assert_eq!(
            explore_args(&["--report", "s.json", "--seeds", "1..9"]).unwrap(),
            resolved(Some("s.json"), Some("reports/"))
        );
        let err = explore_args(&["--report", "notes"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("`explore notes --report`"), "{err}");
    }

    #[test]
    fn a_folder_gets_the_default_name_and_a_file_is_kept() {
        let dir = std::env::temp_dir().join(format!("kafkasim-page-path-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let folder = PathBuf::from(format!("{}/", dir.display()));
        assert_eq!(page_path(&folder, "x.html").unwrap(), dir.join("x.html"));
        assert!(dir.is_dir(), "a folder named with a trailing / is created");
        assert_eq!(page_path(&dir, "y.html").unwrap(), dir.join("y.html"));
        let file = dir.join("z.html");
        assert_eq!(page_path(&file, "x.html").unwrap(), file);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn step_takes_its_scenario_in_any_position() {
        // `step` has the optional scenario but no option with an optional value, so a
        // word after an option is that option's value and never the scenario.
        let cli = Cli::try_parse_from(["kafkasim", "step", "--seed", "3", "s.json"]).unwrap();
        let Command::Step(step) = cli.command else {
            panic!("parsed as another command")
        };
        assert_eq!(step.scenario, Some(PathBuf::from("s.json")));
        assert!(Cli::try_parse_from(["kafkasim", "step", "a.json", "b.json"]).is_err());
    }
}
