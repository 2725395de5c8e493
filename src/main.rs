//! `cargo run`: the tour of all six stages, the story matrix, the costs, and
//! the network-weather proxy.

use std::io::{self, BufRead, IsTerminal, Write};

use anyhow::Context;
use clap::{Parser, Subcommand};
use common::lang::Lang;
use sticky_packets::{attack, checker, costs, matrix, tour};

/// Why TCP sticks (粘包) and splits (拆包) messages, and how to fix it, in six
/// runnable stages.
///
/// With no subcommand this runs the tour: every stage's demo in order, each
/// under a heading, then the story matrix (each TCP stage through each network
/// weather) and where to read next. Run one stage alone with
/// `cargo run -p <stage>`.
#[derive(Parser)]
#[command(name = "sticky-packets", version, about, long_about)]
struct Cli {
    /// Wait for Enter between stages, for a classroom.
    #[arg(long)]
    pause: bool,
    /// The tour's language: `en` or `zh-CN` (default: `STICKY_LANG`, then
    /// `LC_ALL` or `LANG` starting with `zh`, else English).
    #[arg(long)]
    lang: Option<String>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run each TCP stage (2 to 6) through a fixed set of network weathers
    /// and print what survived and what broke.
    Matrix,
    /// Measure on loopback what each fix costs (meant for `--release`).
    Costs(costs::CostsArgs),
    /// A re-chunking TCP proxy between a client and a server on loopback:
    /// it splits, glues and delays the byte stream on purpose.
    Weather(common::weather::WeatherArgs),
    /// Check your answers to the exercises in `exercises/` over real sockets,
    /// through the weather and the decoder verifier (`--watch` re-runs on edits).
    Exercises(checker::ExercisesArgs),
    /// Point a hostile crowd (silent, dripping and pinning connections) at a
    /// running stage server on loopback, and time a good client meanwhile.
    Attack(attack::AttackArgs),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        None => run_tour(cli.pause, Lang::choose(cli.lang.as_deref())),
        Some(Command::Matrix) => {
            print!("{}", matrix::render(&matrix::run()?));
            Ok(())
        }
        Some(Command::Costs(args)) => {
            print!("{}", costs::run(&args)?);
            Ok(())
        }
        Some(Command::Attack(args)) => {
            print!("{}", attack::run(&args)?);
            Ok(())
        }
        Some(Command::Weather(args)) => {
            let weather = args.weather();
            common::weather::run(args.listen, args.upstream, weather)
                .context("the weather proxy stopped")
        }
        Some(Command::Exercises(args)) => {
            checker::run(&args).context("the exercise checker stopped")
        }
    }
}

fn run_tour(pause: bool, lang: Lang) -> anyhow::Result<()> {
    let mut out = io::stdout().lock();
    writeln!(
        out,
        "{}\n",
        lang.pick("sticky-packets: the tour", "sticky-packets：导览")
    )?;
    for stage in &tour::STAGES {
        if pause && stage.number > 1 {
            wait_for_enter(&format!("stage {}", stage.number))?;
        }
        write!(out, "{}", tour::heading_in(stage, lang))?;
        let transcript = (stage.demo)(lang)
            .with_context(|| format!("the demo of {} failed", stage.crate_name))?;
        writeln!(out, "{transcript}")?;
        out.flush()?;
    }
    if pause {
        wait_for_enter("the story matrix")?;
    }
    write!(out, "{}", matrix::heading_in(lang))?;
    write!(out, "{}", matrix::render_in(&matrix::run()?, lang))?;
    writeln!(out)?;
    write!(out, "{}", tour::epilogue_in(lang))?;
    Ok(())
}

/// Waits for Enter on a terminal; piped input is read the same way, so a
/// scripted run can feed it newlines.
fn wait_for_enter(next: &str) -> anyhow::Result<()> {
    let stdin = io::stdin();
    if stdin.is_terminal() {
        eprint!("-- press Enter for {next} --");
        io::stderr().flush()?;
    }
    let mut line = String::new();
    stdin.lock().read_line(&mut line)?;
    Ok(())
}
