//! The built-in command set: the handful of commands the demos send (`seq`,
//! `echo`, `true`, ...) answered inside the server, byte for byte the same on
//! Linux, macOS and Windows and with an empty `PATH`.
//!
//! Why it exists: a demo's lesson is in the bytes of the replies (`seq 1
//! 400` is 1,492 bytes, longer than one 1,024-byte read; `true` answers
//! nothing). Run through the system shell, those bytes depend on the
//! machine: Windows' `cmd` has no `seq` and no `true`, and its `echo hi`
//! answers `hi\r\n`. So every demo, the tour, the matrix and the costs run
//! the built-in set, and a two-terminal server uses it when started with
//! `--builtin`; without that flag a server runs the real shell
//! ([`crate::shell::run_shell`]: `sh -c` or `cmd /C`), as the classic
//! tutorial's `subprocess.Popen(cmd, shell=True)` does.
//!
//! The set, with the words split at spaces and no other shell syntax:
//!
//! | command | output |
//! |---|---|
//! | `echo [WORD...]` | the words joined by single spaces, then `\n` |
//! | `seq [FIRST [STEP]] LAST` | one integer per line, as coreutils' `seq` |
//! | `true` (or `:`) / `false` | nothing; exit status 0 / 1 |
//! | `yes [WORD...]` | the line (default `y`) again and again, until the output cap |
//! | `sleep SECONDS` | nothing, after that long (or until the timeout) |
//! | `help` | this list |
//!
//! Anything else is answered on standard error with the list, exit status
//! 127, as a shell answers a command it cannot find.

use crate::shell::{ShellLimits, ShellOutput};
use std::io;
use std::process::ExitStatus;
use std::time::Duration;

/// Which program answers a remote-execution server's commands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Interpreter {
    /// The platform shell, `sh -c` on Unix and `cmd /C` on Windows, with the
    /// command line passed as it came: what a two-terminal server runs.
    #[default]
    System,
    /// The built-in set of this module: what every demo runs, so that its
    /// bytes are the same on every OS.
    Builtin,
}

impl Interpreter {
    /// `Builtin` when `builtin` is set (a server's `--builtin` flag).
    pub fn from_flag(builtin: bool) -> Self {
        if builtin {
            Self::Builtin
        } else {
            Self::System
        }
    }

    /// A few words for a server's start-up line.
    pub fn describe(self) -> &'static str {
        match self {
            Self::System => "running commands with the system shell",
            Self::Builtin => {
                "running commands with the built-in set (echo, seq, true, false, yes, sleep, help)"
            }
        }
    }
}

/// The help text of every server's `--builtin` flag.
pub const BUILTIN_FLAG_HELP: &str = "Answer with the built-in command set (echo, seq, true, \
     false, yes, sleep, help) instead of the system shell: the same bytes on Linux, macOS and \
     Windows, as the demos run";

/// Runs `command_line` with `interpreter` under `limits`.
///
/// Errors only when the system shell cannot be started; the built-in set
/// never fails to start.
pub fn run_command(
    command_line: &str,
    interpreter: Interpreter,
    limits: ShellLimits,
) -> io::Result<ShellOutput> {
    match interpreter {
        Interpreter::System => crate::shell::run_shell(command_line, limits),
        Interpreter::Builtin => Ok(run_builtin(command_line, limits)),
    }
}

/// The names the built-in set knows, for its help and its error.
const NAMES: &str = "echo, seq, true, false, yes, sleep, help";

/// Runs `command_line` with the built-in set under `limits`: the output cap
/// cuts what is kept, the timeout ends `sleep`.
pub fn run_builtin(command_line: &str, limits: ShellLimits) -> ShellOutput {
    let mut words = command_line.split_whitespace();
    let Some(name) = words.next() else {
        return finished(Vec::new(), Vec::new(), 0, limits);
    };
    let args: Vec<&str> = words.collect();
    match name {
        "echo" => {
            let mut line = args.join(" ").into_bytes();
            line.push(b'\n');
            finished(line, Vec::new(), 0, limits)
        }
        // `:` is the shell's null command, what the attack suite drips.
        "true" | ":" => finished(Vec::new(), Vec::new(), 0, limits),
        "false" => finished(Vec::new(), Vec::new(), 1, limits),
        "help" => finished(
            format!("built-in commands: {NAMES}\n").into_bytes(),
            Vec::new(),
            0,
            limits,
        ),
        "seq" => match seq(&args, limits.output_cap) {
            Ok((out, truncated)) => cut(out, truncated, limits),
            Err(message) => failed(&format!("seq: {message}"), 1, limits),
        },
        "yes" => {
            let mut line = if args.is_empty() {
                b"y".to_vec()
            } else {
                args.join(" ").into_bytes()
            };
            line.push(b'\n');
            // `yes` never ends: it is the output cap that stops it, as it
            // stops the real one.
            let mut out = Vec::with_capacity(limits.output_cap);
            while out.len() < limits.output_cap {
                let room = limits.output_cap - out.len();
                out.extend_from_slice(&line[..line.len().min(room)]);
            }
            cut(out, true, limits)
        }
        "sleep" => match args.as_slice() {
            [secs] => match secs
                .parse::<f64>()
                .ok()
                .and_then(|s| Duration::try_from_secs_f64(s).ok())
            {
                Some(wanted) => {
                    std::thread::sleep(wanted.min(limits.timeout));
                    if wanted > limits.timeout {
                        ShellOutput {
                            timed_out: true,
                            limits,
                            ..ShellOutput::default()
                        }
                    } else {
                        finished(Vec::new(), Vec::new(), 0, limits)
                    }
                }
                None => failed(&format!("sleep: invalid time interval '{secs}'"), 1, limits),
            },
            _ => failed(
                "sleep: give one number of seconds, as in `sleep 1`",
                1,
                limits,
            ),
        },
        other => failed(
            &format!("{other}: not a built-in command; the built-in set is: {NAMES}"),
            127,
            limits,
        ),
    }
}

/// `seq`'s lines, at most `cap` bytes of them, and whether more were cut.
fn seq(args: &[&str], cap: usize) -> Result<(Vec<u8>, bool), String> {
    let numbers: Vec<i64> = args
        .iter()
        .map(|a| {
            a.parse::<i64>()
                .map_err(|_| format!("invalid integer argument: '{a}'"))
        })
        .collect::<Result<_, _>>()?;
    let (first, step, last) = match numbers.as_slice() {
        [last] => (1, 1, *last),
        [first, last] => (*first, 1, *last),
        [first, step, last] => (*first, *step, *last),
        _ => return Err("give LAST, FIRST LAST or FIRST STEP LAST".into()),
    };
    if step == 0 {
        return Err("invalid zero increment value: '0'".into());
    }
    let mut out = Vec::new();
    let mut n = first;
    while (step > 0 && n <= last) || (step < 0 && n >= last) {
        let line = format!("{n}\n");
        if out.len() + line.len() > cap {
            let room = cap - out.len();
            out.extend_from_slice(&line.as_bytes()[..room]);
            return Ok((out, true));
        }
        out.extend_from_slice(line.as_bytes());
        match n.checked_add(step) {
            Some(next) => n = next,
            None => break,
        }
    }
    Ok((out, false))
}

/// An exit status with `code`, built as the platform builds one.
fn status(code: i32) -> ExitStatus {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        // A wait status keeps the exit code in its second byte.
        ExitStatus::from_raw(code << 8)
    }
    #[cfg(windows)]
    {
        use std::os::windows::process::ExitStatusExt;
        ExitStatus::from_raw(code.unsigned_abs())
    }
}

fn finished(stdout: Vec<u8>, stderr: Vec<u8>, code: i32, limits: ShellLimits) -> ShellOutput {
    let (stdout, truncated) = if stdout.len() > limits.output_cap {
        (stdout[..limits.output_cap].to_vec(), true)
    } else {
        (stdout, false)
    };
    let room = limits.output_cap - stdout.len();
    let stderr = stderr[..stderr.len().min(room)].to_vec();
    ShellOutput {
        stdout,
        stderr,
        status: (!truncated).then(|| status(code)),
        truncated,
        limits,
        ..ShellOutput::default()
    }
}

fn cut(stdout: Vec<u8>, truncated: bool, limits: ShellLimits) -> ShellOutput {
    if truncated {
        ShellOutput {
            stdout,
            truncated: true,
            limits,
            ..ShellOutput::default()
        }
    } else {
        finished(stdout, Vec::new(), 0, limits)
    }
}

fn failed(message: &str, code: i32, limits: ShellLimits) -> ShellOutput {
    finished(
        Vec::new(),
        format!("{message}\n").into_bytes(),
        code,
        limits,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> ShellLimits {
        ShellLimits::default()
    }

    fn reply(line: &str) -> Vec<u8> {
        run_builtin(line, limits()).reply()
    }

    /// `seq 1 400` is the demos' long reply: 1,492 bytes, one number a line.
    #[test]
    fn seq_prints_one_number_a_line() {
        let out = reply("seq 1 400");
        let expected: String = (1..=400).map(|n| format!("{n}\n")).collect();
        assert_eq!(out, expected.as_bytes());
        assert_eq!(out.len(), 1492);
        assert_eq!(reply("seq 3"), b"1\n2\n3\n");
        assert_eq!(reply("seq 5 -2 1"), b"5\n3\n1\n");
        assert_eq!(reply("seq 2 1"), b"");
    }

    #[test]
    fn echo_joins_words_with_single_spaces_and_ends_with_lf() {
        assert_eq!(reply("echo hi"), b"hi\n");
        assert_eq!(reply("  echo   still   serving "), b"still serving\n");
        assert_eq!(reply("echo"), b"\n");
    }

    #[test]
    fn true_and_false_answer_nothing_with_their_status() {
        let t = run_builtin("true", limits());
        assert!(t.stdout.is_empty() && t.stderr.is_empty());
        assert_eq!(t.status.and_then(|s| s.code()), Some(0));
        let f = run_builtin("false", limits());
        assert!(f.reply().is_empty());
        assert_eq!(f.status.and_then(|s| s.code()), Some(1));
        assert!(run_builtin("", limits()).reply().is_empty());
    }

    /// An unknown command gets the shell's status and a line naming the set.
    #[test]
    fn unknown_commands_are_named_on_stderr() {
        let out = run_builtin("ls -l", limits());
        assert!(out.stdout.is_empty());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.starts_with("ls: not a built-in command"), "{err}");
        assert!(err.contains("seq"), "{err}");
        assert_eq!(out.status.and_then(|s| s.code()), Some(127));
        assert!(String::from_utf8_lossy(&reply("seq x")).contains("invalid integer"));
        assert!(String::from_utf8_lossy(&reply("seq 1 0 3")).contains("zero increment"));
    }

    /// The output cap stops `yes` and a long `seq`, and the note says so.
    #[test]
    fn the_output_cap_cuts_and_says_so() {
        let small = ShellLimits {
            output_cap: 100,
            ..ShellLimits::default()
        };
        for line in ["yes", "seq 1000000"] {
            let out = run_builtin(line, small);
            assert_eq!(out.stdout.len(), 100, "{line}");
            assert!(out.truncated, "{line}");
            let reply = String::from_utf8_lossy(&out.reply()).into_owned();
            assert!(reply.ends_with("[server: output cut at 100 bytes; the rest was discarded and the command killed]\n"), "{reply}");
        }
        assert_eq!(&run_builtin("yes no", small).stdout[..6], b"no\nno\n");
    }

    /// `sleep` longer than the timeout is reported as a timeout, after it.
    #[test]
    fn sleep_meets_the_timeout() {
        let short = ShellLimits {
            timeout: Duration::from_millis(20),
            ..ShellLimits::default()
        };
        let start = std::time::Instant::now();
        let out = run_builtin("sleep 30", short);
        assert!(out.timed_out);
        assert!(start.elapsed() >= Duration::from_millis(20));
        assert!(start.elapsed() < Duration::from_secs(10));
        assert!(!run_builtin("sleep 0.01", short).timed_out);
        assert!(String::from_utf8_lossy(&reply("sleep soon")).contains("invalid time"));
    }

    #[test]
    fn the_interpreter_is_chosen_by_the_flag() {
        assert_eq!(Interpreter::from_flag(true), Interpreter::Builtin);
        assert_eq!(Interpreter::from_flag(false), Interpreter::System);
        let out = run_command("seq 2", Interpreter::Builtin, limits()).map(|o| o.reply());
        assert_eq!(out.ok(), Some(b"1\n2\n".to_vec()));
    }
}
