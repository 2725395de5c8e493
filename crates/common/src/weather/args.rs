//! The `weather` subcommand's command line: the flags, parsed by clap,
//! that the root binary flattens, and the [`Weather`] they describe.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use super::plan::Weather;
use super::proxy::run;
use crate::cli::parse_addr;

/// The `weather` subcommand's arguments; the root binary flattens them and
/// calls [`WeatherArgs::run`] (or [`run`] with [`WeatherArgs::weather`]).
#[derive(clap::Args, Clone, Debug, PartialEq, Eq)]
pub struct WeatherArgs {
    /// Where the proxy listens; point the client's --addr here. Loopback only.
    #[arg(long, value_name = "HOST:PORT", value_parser = parse_addr, default_value = "127.0.0.1:9008")]
    pub listen: SocketAddr,
    /// The real server the proxy forwards to (8008: remote execution, 8080:
    /// uploads). Loopback only.
    #[arg(long, value_name = "HOST:PORT", value_parser = parse_addr, default_value = "127.0.0.1:8008")]
    pub upstream: SocketAddr,
    /// Cut everything the proxy receives into pieces of at most N bytes, each
    /// sent as its own write: one message may arrive in several reads.
    #[arg(long, value_name = "N", value_parser = parse_piece_size)]
    pub split: Option<usize>,
    /// Cut the stream into pieces of these sizes, in turn, starting over at
    /// the end of the list: --sizes 1,3,7 sends 1 byte, 3, 7, 1, 3, ...
    #[arg(long, value_name = "N,N,...", value_delimiter = ',', value_parser = parse_piece_size)]
    pub sizes: Vec<usize>,
    /// Hold whatever arrives within MS milliseconds of the first byte and send
    /// it as one write: two messages written close together arrive glued.
    #[arg(long, value_name = "MS", value_parser = clap::value_parser!(u64).range(0..=60_000))]
    pub coalesce_ms: Option<u64>,
    /// Wait MS milliseconds before every piece, so the reader wakes up
    /// between pieces and really sees them apart.
    #[arg(long, value_name = "MS", value_parser = clap::value_parser!(u64).range(0..=60_000))]
    pub delay_ms: Option<u64>,
    /// Random piece sizes (1-64 bytes, mostly small) and occasional short
    /// pauses (1-3 ms), chosen from this number: the same seed cuts the same
    /// traffic the same way again, so a failure can be replayed.
    #[arg(long, value_name = "S")]
    pub seed: Option<u64>,
    /// Deliver each piece only after the receiving program has read the one
    /// before, so every piece arrives as a read of its own even on a busy
    /// machine. Linux only: on Windows and macOS the proxy prints one line
    /// saying it has no effect, then delivers the pieces as without it.
    ///
    /// How: after each piece the proxy watches the receiving socket's unread
    /// bytes in Linux's /proc/net/tcp (the rx_queue column, man 5 proc) until
    /// they are 0. Windows' table of TCP connections (GetExtendedTcpTable,
    /// what netstat -ano shows) has no such column: see Microsoft's
    /// MIB_TCPROW_OWNER_PID page. There a reader that is slow to wake may get
    /// several pieces in one read; add --delay-ms 5 to give it time between
    /// pieces (likely, not certain). The story matrix (cargo run -- matrix)
    /// counts reads inside one process and is exact on every OS.
    #[arg(long)]
    pub lockstep: bool,
    /// Print every piece the proxy delivers (direction, size, first bytes)
    /// to standard error, so you can watch it cut.
    #[arg(long)]
    pub verbose: bool,
}

impl WeatherArgs {
    /// The weather these flags describe.
    pub fn weather(&self) -> Weather {
        Weather {
            split: self.split,
            sizes: self.sizes.clone(),
            coalesce: self.coalesce_ms.map(Duration::from_millis),
            delay: self.delay_ms.map(Duration::from_millis),
            seed: self.seed,
            lockstep: self.lockstep,
            verbose: self.verbose,
        }
    }

    /// Runs the proxy these flags describe until the process ends (see [`run`]).
    pub fn run(&self) -> io::Result<()> {
        run(self.listen, self.upstream, self.weather())
    }
}

/// Parses a piece size for `--split` and `--sizes`: a whole number, at least 1.
fn parse_piece_size(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(0) => Err("a piece must hold at least 1 byte; 1 is the finest cut".to_string()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!(
            "`{text}` is not a piece size; write a whole number of bytes, for example 1 or 7"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    /// Flags parsed by clap give the weather back, and describe() gives the flags back.
    #[test]
    fn describe_gives_the_flags_that_reproduce_it() {
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            args: WeatherArgs,
        }
        let weathers = [
            Weather::clear(),
            Weather::split(1),
            Weather::sizes(&[3, 7]),
            Weather::coalesce(Duration::from_millis(5)),
            Weather::seeded(42)
                .with_split(2)
                .with_delay(Duration::from_millis(1)),
        ];
        for weather in weathers {
            let argv = std::iter::once("weather".to_string()).chain(weather.flags());
            let args = Cli::try_parse_from(argv).unwrap().args;
            assert_eq!(args.weather(), weather);
        }
        assert_eq!(Weather::clear().describe(), "clear");
        assert_eq!(Weather::split(1).describe(), "--split 1");
        assert_eq!(
            Weather::sizes(&[3, 7])
                .with_delay(Duration::from_millis(2))
                .describe(),
            "--sizes 3,7 --delay-ms 2"
        );
        assert_eq!(Weather::seeded(9).with_verbose(true).describe(), "--seed 9");
        let err = Cli::try_parse_from(["weather", "--sizes", "1,0"])
            .err()
            .unwrap();
        assert!(err.to_string().contains("at least 1 byte"), "{err}");
        let args = Cli::try_parse_from(["weather", "--upstream", "127.0.0.1:8080"])
            .unwrap()
            .args;
        assert_eq!(args.listen.port(), 9008);
    }
}
