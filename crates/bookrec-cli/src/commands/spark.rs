//! `bookrec train --engine spark` and `bookrec import-spark`: submit the PySpark job
//! (`python/bookrec/spark/job.py`, carried inside this binary) with `spark-submit`, follow its
//! stages, and import its export directory into a model file
//! (bookrec_core::model_file::spark).

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use bookrec_core::data::{DuplicatePolicy, Encoding};
use bookrec_core::model_file::spark::import_spark;
use bookrec_core::model_file::{save_model, ModelMeta};
use bookrec_core::models::{ModelKind, ModelSpec};

use crate::args::{ImportSparkArgs, TrainArgs};
use crate::progress::Bars;

/// The job script, so the CLI works without the Python package installed.
const JOB: &str = include_str!("../../../../python/bookrec/spark/job.py");

/// Where the Spark tools are.
struct Tools {
    submit: PathBuf,
    python: PathBuf,
}

/// The Python whose PySpark runs the job: `$BOOKREC_PYTHON`, else `python3`.
fn python() -> PathBuf {
    std::env::var_os("BOOKREC_PYTHON").map_or_else(|| PathBuf::from("python3"), PathBuf::from)
}

/// The first file called `name` in a directory of `PATH`.
pub(crate) fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// `spark-submit`: `$SPARK_HOME/bin`, then `PATH`, then the `bin/` of the PySpark that
/// `python` imports. Java is checked too, since spark-submit's own message for it is cryptic.
fn find_tools() -> Result<Tools> {
    let python = python();
    let submit = std::env::var_os("SPARK_HOME")
        .map(|h| PathBuf::from(h).join("bin/spark-submit"))
        .filter(|p| p.is_file())
        .or_else(|| on_path("spark-submit"))
        .or_else(|| {
            let out = Command::new(&python)
                .args([
                    "-c",
                    "import os, pyspark; print(os.path.dirname(pyspark.__file__))",
                ])
                .stderr(Stdio::null())
                .output()
                .ok()?;
            let dir = String::from_utf8(out.stdout).ok()?;
            let p = PathBuf::from(dir.trim()).join("bin/spark-submit");
            (out.status.success() && p.is_file()).then_some(p)
        });
    let Some(submit) = submit else {
        bail!(
            "spark-submit not found: install PySpark for {} (`{0} -m pip install pyspark`; \
             BOOKREC_PYTHON chooses another Python), or a Spark distribution with SPARK_HOME set",
            python.display()
        );
    };
    let java = std::env::var_os("JAVA_HOME")
        .map(|h| PathBuf::from(h).join("bin/java"))
        .filter(|p| p.is_file())
        .or_else(|| on_path("java"));
    let java_ok = java.is_some_and(|j| {
        Command::new(j)
            .arg("-version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    });
    if !java_ok {
        bail!(
            "Java not found: Spark needs a Java 17 or 21 runtime; install one (e.g. \
             `apt-get install openjdk-17-jre-headless`) or set JAVA_HOME"
        );
    }
    Ok(Tools { submit, python })
}

/// The job's command-line arguments from `bookrec train`'s flags.
fn job_args(args: &TrainArgs, ratings: &Path, export: &Path) -> Result<Vec<String>> {
    let kinds = args.model.kinds()?;
    if kinds != [ModelKind::Als] {
        bail!(
            "--engine spark trains `als` only (MLlib ALS with bookrec's biases), got --model {}",
            args.model.model
        );
    }
    let ModelSpec::Als(p) = args.model.spec(ModelKind::Als, false, args.seed)? else {
        bail!("--engine spark trains `als` only");
    };
    let opts = args.load.to_options()?;
    let mut out: Vec<String> = vec![
        "--ratings".into(),
        ratings.display().to_string(),
        "--out".into(),
        export.display().to_string(),
        "--factors".into(),
        p.factors.to_string(),
        "--iterations".into(),
        p.iterations.to_string(),
        "--reg".into(),
        p.reg.to_string(),
        "--reg-u".into(),
        p.reg_u.to_string(),
        "--reg-i".into(),
        p.reg_i.to_string(),
        "--bias-iterations".into(),
        p.bias_iterations.to_string(),
        "--seed".into(),
        p.seed.to_string(),
        "--test-fraction".into(),
        args.test_fraction.unwrap_or(0.0).to_string(),
        "--duplicates".into(),
        match opts.duplicates {
            DuplicatePolicy::KeepLast => "last",
            DuplicatePolicy::Mean => "mean",
            DuplicatePolicy::Error => "error",
        }
        .into(),
        "--bad-lines".into(),
        args.load.bad_lines.clone(),
        "--zeros".into(),
        args.load.zeros.clone(),
    ];
    if let Some(test) = &args.test {
        out.extend(["--test".into(), test.display().to_string()]);
    }
    if let Some(sep) = &opts.sep {
        out.extend(["--sep".into(), sep.clone()]);
    }
    if let Some(h) = opts.has_header {
        out.extend(["--header".into(), h.to_string()]);
    }
    if let Some(e) = opts.encoding {
        let charset = match e {
            Encoding::Utf8 => "UTF-8",
            _ => "windows-1252",
        };
        out.extend(["--encoding".into(), charset.into()]);
    }
    for (flag, col) in [
        ("--user-col", &args.load.user_col),
        ("--item-col", &args.load.item_col),
        ("--rating-col", &args.load.rating_col),
    ] {
        if let Some(c) = col {
            out.extend([flag.into(), c.clone()]);
        }
    }
    if let Some(s) = opts.rating_scale {
        out.extend([
            "--rating-scale".into(),
            s.min.to_string(),
            s.max.to_string(),
        ]);
    }
    Ok(out)
}

/// A path the job can read for sure does not exist: a local path without glob characters.
fn check_local_input(path: &Path) -> Result<()> {
    let s = path.to_string_lossy();
    if !s.contains("://") && !s.contains(['*', '?', '[', '{']) && !path.exists() {
        bail!(
            "cannot read ratings {}: no such file or directory",
            path.display()
        );
    }
    Ok(())
}

/// `bookrec train --engine spark`.
pub fn train(args: TrainArgs) -> Result<()> {
    let (Some(ratings), Some(out)) = (&args.ratings, &args.out) else {
        bail!("`train` needs --ratings PATH and --out MODEL");
    };
    check_local_input(ratings)?;
    if let Some(test) = &args.test {
        check_local_input(test)?;
    }
    if let Some(f) = args.test_fraction.filter(|f| !(0.0..1.0).contains(f)) {
        bail!("--test-fraction must be in [0, 1), got {f}");
    }
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = out
        .file_name()
        .context("--out must name a file")?
        .to_string_lossy()
        .into_owned();
    // A temporary export sits next to the model: same file system, and on the big disk
    // the model goes to rather than /tmp.
    let (export, temporary) = match &args.export_dir {
        Some(d) => (d.clone(), false),
        None => (
            parent.join(format!(".{name}.spark-export-{}", std::process::id())),
            true,
        ),
    };
    let job_args = job_args(&args, ratings, &export)?;
    for c in &args.spark_conf {
        if !c.contains('=') {
            bail!("--spark-conf expects KEY=VALUE, got {c:?}");
        }
    }
    let tools = find_tools()?;
    let log_path = parent.join(format!("{name}.spark.log"));
    let job_path = parent.join(format!(".{name}.spark-job-{}.py", std::process::id()));
    std::fs::write(&job_path, JOB)
        .with_context(|| format!("writing the job script {}", job_path.display()))?;
    let result = submit(&args, &tools, &job_path, &job_args, &log_path);
    let _ = std::fs::remove_file(&job_path);
    let result = result.and_then(|()| import_and_save(&export, out, args.json));
    if temporary {
        let _ = std::fs::remove_dir_all(&export);
    }
    result
}

/// Runs spark-submit, printing the job's stages; Spark's log goes to `log_path`.
fn submit(
    args: &TrainArgs,
    tools: &Tools,
    job: &Path,
    job_args: &[String],
    log_path: &Path,
) -> Result<()> {
    let log = std::fs::File::create(log_path)
        .with_context(|| format!("creating the Spark log {}", log_path.display()))?;
    let mut cmd = Command::new(&tools.submit);
    cmd.arg("--master")
        .arg(&args.master)
        .arg("--name")
        .arg("bookrec-train");
    for c in &args.spark_conf {
        cmd.arg("--conf").arg(c);
    }
    cmd.arg(job).args(job_args);
    for var in ["PYSPARK_PYTHON", "PYSPARK_DRIVER_PYTHON"] {
        if std::env::var_os(var).is_none() {
            cmd.env(var, &tools.python);
        }
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log));
    eprintln!(
        "spark: submitting to {} with {}; Spark's log: {}",
        args.master,
        tools.submit.display(),
        log_path.display()
    );
    let start = Instant::now();
    let mut child = cmd
        .spawn()
        .with_context(|| format!("starting {}", tools.submit.display()))?;
    let mut error: Option<String> = None;
    if let Some(stdout) = child.stdout.take() {
        let mut stderr = std::io::stderr();
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let t = start.elapsed().as_secs_f64();
            if let Some(s) = line.strip_prefix("BOOKREC-STAGE ") {
                let _ = writeln!(stderr, "spark [{t:6.1}s] stage {s}");
            } else if let Some(s) = line.strip_prefix("BOOKREC-INFO ") {
                let _ = writeln!(stderr, "spark [{t:6.1}s]   {s}");
            } else if let Some(s) = line.strip_prefix("BOOKREC-ERROR ") {
                error = Some(s.to_string());
            } else {
                tracing::debug!("spark job: {line}");
            }
        }
    }
    let status = child.wait().context("waiting for spark-submit")?;
    if status.success() {
        return Ok(());
    }
    let message = error
        .or_else(|| last_error_line(log_path))
        .unwrap_or_else(|| "no error message (see the log)".into());
    let code = status
        .code()
        .map_or_else(|| "a signal".to_string(), |c| format!("exit code {c}"));
    bail!(
        "the Spark job failed ({code}): {message}; full log: {}",
        log_path.display()
    )
}

/// The last line of Spark's log that names an error or exception.
fn last_error_line(log: &Path) -> Option<String> {
    let text = std::fs::read_to_string(log).ok()?;
    text.lines()
        .rev()
        .find(|l| l.contains("Exception") || l.contains("Error:") || l.contains("ERROR"))
        .map(|l| bookrec_core::error::excerpt(l.trim(), 400))
}

fn import_and_save(export: &Path, out: &Path, json: bool) -> Result<()> {
    let (model, meta) = import_spark(export, &Bars::new())?;
    save_model(&model, &meta, out).with_context(|| format!("writing {}", out.display()))?;
    if json {
        println!("{}", serde_json::to_string_pretty(&meta)?);
    } else {
        println!(
            "{}",
            summary(&meta, model.users.len(), model.items.len(), out)
        );
    }
    Ok(())
}

fn summary(meta: &ModelMeta, users: usize, items: usize, out: &Path) -> String {
    let m = &meta.training_metrics;
    let held_out = match (m.get("test_rmse"), m.get("test_mae")) {
        (Some(r), Some(a)) if r.is_number() => format!(
            "held-out rmse {:.4}, mae {:.4} on {} ratings",
            r.as_f64().unwrap_or(f64::NAN),
            a.as_f64().unwrap_or(f64::NAN),
            m["n_test"]
        ),
        _ => "no held-out evaluation".to_string(),
    };
    format!(
        "imported Spark als: {} training ratings, {users} users, {items} books; {held_out}; wrote {}",
        meta.n_train,
        out.display()
    )
}

/// `bookrec import-spark DIR --out MODEL`.
pub fn import(args: ImportSparkArgs) -> Result<()> {
    import_and_save(&args.dir, &args.out, args.json)
}
