//! `--shard auto`: which shard this machine runs, read from the environment of the job
//! engine that started it. Pure: the caller passes a lookup (the process environment in
//! the command line, a map in tests), so nothing here reads or changes the environment.
//!
//! Every engine's index is 0-based; shard `K/N` is index + 1 of count. The first engine
//! whose index variable is set wins:
//! 1. ours, for GitHub Actions or anything else: `KAFKASIM_SHARD_INDEX` (0-based) and
//!    `KAFKASIM_SHARD_COUNT` (or `--shards N`);
//! 2. a Kubernetes Indexed Job: `JOB_COMPLETION_INDEX`, with `--shards N` (Kubernetes does
//!    not export the completion count);
//! 3. a Slurm job array: `SLURM_ARRAY_TASK_ID` minus `SLURM_ARRAY_TASK_MIN` (when set),
//!    divided by `SLURM_ARRAY_TASK_STEP` (when set), of `SLURM_ARRAY_TASK_COUNT` (or
//!    `--shards N`; both given must agree).

use std::fmt;
use std::str::FromStr;

use super::seeds::Shard;

/// Our own index variable (0-based), set by a CI matrix or any other engine.
pub const KAFKASIM_INDEX: &str = "KAFKASIM_SHARD_INDEX";
/// Our own count variable.
pub const KAFKASIM_COUNT: &str = "KAFKASIM_SHARD_COUNT";
/// A Kubernetes Indexed Job's completion index (0-based).
pub const K8S_INDEX: &str = "JOB_COMPLETION_INDEX";
/// A Slurm array task's id.
pub const SLURM_ID: &str = "SLURM_ARRAY_TASK_ID";
/// The number of tasks in the Slurm array.
pub const SLURM_COUNT: &str = "SLURM_ARRAY_TASK_COUNT";
/// The Slurm array's lowest task id.
pub const SLURM_MIN: &str = "SLURM_ARRAY_TASK_MIN";
/// The Slurm array's step between task ids (`--array=0-15:4`).
pub const SLURM_STEP: &str = "SLURM_ARRAY_TASK_STEP";

/// What `--shard` asked for: a fixed `K/N`, or `auto` (from the environment).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShardChoice {
    /// `--shard K/N`.
    Fixed(Shard),
    /// `--shard auto`.
    Auto,
}

impl FromStr for ShardChoice {
    type Err = String;

    /// `auto`, or `K/N` as [`Shard`] reads it.
    fn from_str(text: &str) -> Result<ShardChoice, String> {
        if text.trim() == "auto" {
            return Ok(ShardChoice::Auto);
        }
        text.parse()
            .map(ShardChoice::Fixed)
            .map_err(|e| format!("{e}, or `auto` to read it from the environment"))
    }
}

impl fmt::Display for ShardChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ShardChoice::Fixed(shard) => shard.fmt(f),
            ShardChoice::Auto => f.write_str("auto"),
        }
    }
}

/// The shard the environment names, and the variable its index came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AutoShard {
    /// The shard, 1-based.
    pub shard: Shard,
    /// The index variable it came from, e.g. `SLURM_ARRAY_TASK_ID`.
    pub from: &'static str,
}

/// Why the environment names no shard: the variable (or option) that is wrong, and how.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("--shard auto: {variable} {problem}")]
pub struct ShardEnvError {
    /// The variable or option at fault, e.g. `JOB_COMPLETION_INDEX` or `--shards`.
    pub variable: &'static str,
    /// What is wrong with it.
    pub problem: String,
}

fn wrong(variable: &'static str, problem: impl Into<String>) -> ShardEnvError {
    ShardEnvError {
        variable,
        problem: problem.into(),
    }
}

/// Reads the shard from `env` (a variable's value, or `None` when unset), with `shards`
/// from `--shards N`.
pub fn resolve(
    env: &dyn Fn(&str) -> Option<String>,
    shards: Option<u64>,
) -> Result<AutoShard, ShardEnvError> {
    let number = |variable: &'static str| -> Result<Option<u64>, ShardEnvError> {
        let Some(text) = env(variable) else {
            return Ok(None);
        };
        text.trim()
            .parse()
            .map(Some)
            .map_err(|_| wrong(variable, format!("is `{text}`, not a whole number >= 0")))
    };
    if env(KAFKASIM_INDEX).is_some() || env(KAFKASIM_COUNT).is_some() {
        let index = number(KAFKASIM_INDEX)?.ok_or_else(|| {
            wrong(
                KAFKASIM_INDEX,
                format!("is not set, but {KAFKASIM_COUNT} is"),
            )
        })?;
        let count = agreed_count(KAFKASIM_COUNT, number(KAFKASIM_COUNT)?, shards)?;
        return shard(KAFKASIM_INDEX, index, KAFKASIM_COUNT, count);
    }
    if let Some(index) = number(K8S_INDEX)? {
        let count = shards.ok_or_else(|| {
            wrong(
                "--shards",
                format!(
                    "is needed with {K8S_INDEX}={index}: Kubernetes does not export the \
                     completion count; pass the Job's `completions` as --shards N"
                ),
            )
        })?;
        return shard(K8S_INDEX, index, "--shards", count);
    }
    if let Some(id) = number(SLURM_ID)? {
        let count = agreed_count(SLURM_COUNT, number(SLURM_COUNT)?, shards)?;
        let index = slurm_index(id, number(SLURM_MIN)?, number(SLURM_STEP)?)?;
        return shard(SLURM_ID, index, SLURM_COUNT, count);
    }
    Err(wrong(
        KAFKASIM_INDEX,
        format!(
            "is not set, nor is {K8S_INDEX} (a Kubernetes Indexed Job) or {SLURM_ID} (a \
             Slurm array): set {KAFKASIM_INDEX} (0-based) and {KAFKASIM_COUNT}, or use \
             --shard K/N"
        ),
    ))
}

/// The count from `variable` and `--shards`: either alone, or both when equal.
fn agreed_count(
    variable: &'static str,
    from_env: Option<u64>,
    shards: Option<u64>,
) -> Result<u64, ShardEnvError> {
    match (from_env, shards) {
        (Some(env), Some(option)) if env != option => Err(wrong(
            variable,
            format!("is {env}, but --shards says {option}"),
        )),
        (Some(count), _) | (None, Some(count)) => Ok(count),
        (None, None) => Err(wrong(variable, "is not set (nor is --shards N)")),
    }
}

/// A Slurm task's 0-based position in its array: `(id - min) / step`.
fn slurm_index(id: u64, min: Option<u64>, step: Option<u64>) -> Result<u64, ShardEnvError> {
    let min = min.unwrap_or(0);
    let offset = id
        .checked_sub(min)
        .ok_or_else(|| wrong(SLURM_ID, format!("is {id}, below {SLURM_MIN}={min}")))?;
    match step {
        None | Some(1) => Ok(offset),
        Some(0) => Err(wrong(SLURM_STEP, "is 0")),
        Some(step) if offset % step != 0 => Err(wrong(
            SLURM_ID,
            format!("is {id}, not {SLURM_MIN}={min} plus a multiple of {SLURM_STEP}={step}"),
        )),
        Some(step) => Ok(offset / step),
    }
}

/// Shard `index + 1` of `count`, checked.
fn shard(
    from: &'static str,
    index: u64,
    count_from: &'static str,
    count: u64,
) -> Result<AutoShard, ShardEnvError> {
    if count == 0 {
        return Err(wrong(count_from, "is 0: there must be at least one shard"));
    }
    if index >= count {
        return Err(wrong(
            from,
            format!(
                "gives index {index} (0-based), which is not below the shard count \
                 {count} (from {count_from})"
            ),
        ));
    }
    Ok(AutoShard {
        shard: Shard {
            index: index + 1,
            count,
        },
        from,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    /// Resolves against exactly these variables, with `--shards`.
    fn with(
        vars: &[(&str, &str)],
        shards: Option<u64>,
    ) -> Result<(String, &'static str), ShardEnvError> {
        let env: BTreeMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let found = resolve(&|name| env.get(name).cloned(), shards)?;
        Ok((found.shard.to_string(), found.from))
    }

    /// The variable an error names.
    fn blames(vars: &[(&str, &str)], shards: Option<u64>) -> &'static str {
        with(vars, shards).expect_err("inconsistent").variable
    }

    #[test]
    fn each_engine_gives_its_shard_one_based() {
        let ours = [(KAFKASIM_INDEX, "0"), (KAFKASIM_COUNT, "4")];
        assert_eq!(with(&ours, None).unwrap(), ("1/4".into(), KAFKASIM_INDEX));
        let ours_with_option = [(KAFKASIM_INDEX, "3")];
        assert_eq!(with(&ours_with_option, Some(4)).unwrap().0, "4/4");
        let k8s = [(K8S_INDEX, "2")];
        assert_eq!(with(&k8s, Some(4)).unwrap(), ("3/4".into(), K8S_INDEX));
        let slurm = [(SLURM_ID, "1"), (SLURM_COUNT, "4"), (SLURM_MIN, "0")];
        assert_eq!(with(&slurm, None).unwrap(), ("2/4".into(), SLURM_ID));
        let slurm_from_one = [(SLURM_ID, "4"), (SLURM_COUNT, "4"), (SLURM_MIN, "1")];
        assert_eq!(with(&slurm_from_one, Some(4)).unwrap().0, "4/4");
        let stepped = [
            (SLURM_ID, "12"),
            (SLURM_COUNT, "4"),
            (SLURM_MIN, "0"),
            (SLURM_STEP, "4"),
        ];
        assert_eq!(with(&stepped, None).unwrap().0, "4/4");
    }

    #[test]
    fn our_variables_come_first_then_kubernetes_then_slurm() {
        let all = [
            (KAFKASIM_INDEX, "1"),
            (KAFKASIM_COUNT, "2"),
            (K8S_INDEX, "0"),
            (SLURM_ID, "0"),
            (SLURM_COUNT, "3"),
        ];
        assert_eq!(with(&all, None).unwrap(), ("2/2".into(), KAFKASIM_INDEX));
        assert_eq!(with(&all[2..], Some(3)).unwrap(), ("1/3".into(), K8S_INDEX));
        assert_eq!(with(&all[3..], None).unwrap(), ("1/3".into(), SLURM_ID));
    }

    #[test]
    fn a_missing_or_inconsistent_environment_names_the_wrong_variable() {
        assert_eq!(blames(&[], None), KAFKASIM_INDEX);
        assert!(
            with(&[], Some(4))
                .unwrap_err()
                .to_string()
                .contains(K8S_INDEX),
            "the message lists every engine's variable"
        );
        assert_eq!(blames(&[(KAFKASIM_COUNT, "4")], None), KAFKASIM_INDEX);
        assert_eq!(blames(&[(KAFKASIM_INDEX, "1")], None), KAFKASIM_COUNT);
        assert_eq!(
            blames(&[(KAFKASIM_INDEX, "x"), (KAFKASIM_COUNT, "4")], None),
            KAFKASIM_INDEX
        );
        assert_eq!(
            blames(&[(KAFKASIM_INDEX, "-1"), (KAFKASIM_COUNT, "4")], None),
            KAFKASIM_INDEX
        );
        assert_eq!(
            blames(&[(KAFKASIM_INDEX, "4"), (KAFKASIM_COUNT, "4")], None),
            KAFKASIM_INDEX
        );
        assert_eq!(
            blames(&[(KAFKASIM_INDEX, "0"), (KAFKASIM_COUNT, "0")], None),
            KAFKASIM_COUNT
        );
        assert_eq!(
            blames(&[(KAFKASIM_INDEX, "0"), (KAFKASIM_COUNT, "4")], Some(3)),
            KAFKASIM_COUNT
        );
        let k8s = with(&[(K8S_INDEX, "1")], None).unwrap_err();
        assert_eq!(k8s.variable, "--shards");
        assert!(k8s.to_string().contains(K8S_INDEX), "{k8s}");
        assert_eq!(blames(&[(K8S_INDEX, "4")], Some(4)), K8S_INDEX);
        assert_eq!(blames(&[(K8S_INDEX, "1")], Some(0)), "--shards");
        assert_eq!(blames(&[(K8S_INDEX, "")], Some(2)), K8S_INDEX);
    }

    #[test]
    fn an_inconsistent_slurm_array_names_the_wrong_variable() {
        assert_eq!(blames(&[(SLURM_ID, "1")], None), SLURM_COUNT);
        assert_eq!(
            blames(&[(SLURM_ID, "1"), (SLURM_COUNT, "4")], Some(3)),
            SLURM_COUNT
        );
        assert_eq!(
            blames(&[(SLURM_ID, "4"), (SLURM_COUNT, "4")], None),
            SLURM_ID
        );
        assert_eq!(
            blames(
                &[(SLURM_ID, "0"), (SLURM_COUNT, "4"), (SLURM_MIN, "1")],
                None
            ),
            SLURM_ID
        );
        assert_eq!(
            blames(
                &[(SLURM_ID, "5"), (SLURM_COUNT, "4"), (SLURM_MIN, "1")],
                None
            ),
            SLURM_ID,
            "id - min = 4 is not below the count"
        );
        assert_eq!(
            blames(
                &[(SLURM_ID, "2"), (SLURM_COUNT, "4"), (SLURM_STEP, "4")],
                None
            ),
            SLURM_ID
        );
        assert_eq!(
            blames(&[(SLURM_ID, "1"), (SLURM_COUNT, "x")], None),
            SLURM_COUNT
        );
        assert_eq!(
            blames(&[(SLURM_ID, "1"), (SLURM_COUNT, "0")], None),
            SLURM_COUNT
        );
    }

    #[test]
    fn shard_choice_reads_auto_or_k_of_n() {
        assert_eq!("auto".parse::<ShardChoice>(), Ok(ShardChoice::Auto));
        assert_eq!(
            "2/4".parse::<ShardChoice>(),
            Ok(ShardChoice::Fixed(Shard { index: 2, count: 4 }))
        );
        let bad = "5/4".parse::<ShardChoice>().unwrap_err();
        assert!(bad.contains("K/N") && bad.contains("auto"), "{bad}");
    }
}
