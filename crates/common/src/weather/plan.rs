//! The piece plan: where the proxy cuts a direction's stream and how long
//! it waits before each piece. Pure and testable without sockets: the plan
//! is a function of the [`Weather`], the direction and the lengths of the
//! chunks the proxy read, nothing else.

use std::fmt;
use std::time::Duration;

/// The longest coalescing window or delay the proxy accepts: longer is no
/// longer weather but an outage, and an unbounded one would overflow the
/// clock arithmetic.
pub const MAX_PAUSE: Duration = Duration::from_secs(60);

/// What the proxy does to the stream. `Weather::default()` is clear weather:
/// every chunk is forwarded as it was read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Weather {
    /// Cap every piece at this many bytes (`--split N`); must be at least 1.
    pub split: Option<usize>,
    /// Cut the stream into pieces of these sizes, cycling (`--sizes 1,3,7`);
    /// empty means not set; every size must be at least 1.
    pub sizes: Vec<usize>,
    /// Glue what arrives within this window into one piece (`--coalesce-ms N`).
    pub coalesce: Option<Duration>,
    /// Wait this long before every piece (`--delay-ms N`).
    pub delay: Option<Duration>,
    /// Random piece sizes and pauses from this seed (`--seed S`).
    pub seed: Option<u64>,
    /// Deliver the next piece only once the receiving program has read
    /// everything delivered so far (`--lockstep`). Every piece then reaches
    /// the reader as a read of its own (or several, if its buffer is
    /// smaller), whatever the machine's load: the cuts stop being odds and
    /// become certain, which is what makes the story matrix replayable.
    /// In one process ([`super::WeatherProxy::spawn_gated`]) it works on
    /// every OS. Between programs it watches the receiver's queue in
    /// `/proc/net/tcp`, so it works on Linux only; elsewhere
    /// [`super::run`] prints [`super::LOCKSTEP_UNAVAILABLE`] and the pieces
    /// are delivered as without it.
    pub lockstep: bool,
    /// Print every delivered piece to standard error (`--verbose`). It does
    /// not change the stream, so [`Weather::describe`] leaves it out.
    pub verbose: bool,
}

impl Weather {
    /// Clear weather: every chunk forwarded as it was read.
    pub fn clear() -> Self {
        Self::default()
    }

    /// Every chunk cut into pieces of at most `max` bytes (`--split max`).
    pub fn split(max: usize) -> Self {
        Self {
            split: Some(max),
            ..Self::default()
        }
    }

    /// The stream cut into pieces of these sizes, cycling (`--sizes a,b,c`).
    pub fn sizes(sizes: &[usize]) -> Self {
        Self {
            sizes: sizes.to_vec(),
            ..Self::default()
        }
    }

    /// What arrives within `window` glued into one piece (`--coalesce-ms`).
    pub fn coalesce(window: Duration) -> Self {
        Self {
            coalesce: Some(window),
            ..Self::default()
        }
    }

    /// Every chunk delivered after a pause of `delay` (`--delay-ms`).
    pub fn delay(delay: Duration) -> Self {
        Self {
            delay: Some(delay),
            ..Self::default()
        }
    }

    /// Random piece sizes and pauses from `seed` (`--seed seed`).
    pub fn seeded(seed: u64) -> Self {
        Self {
            seed: Some(seed),
            ..Self::default()
        }
    }

    /// This weather with every piece capped at `max` bytes as well.
    pub fn with_split(mut self, max: usize) -> Self {
        self.split = Some(max);
        self
    }

    /// This weather with a pause of `delay` before every piece as well.
    pub fn with_delay(mut self, delay: Duration) -> Self {
        self.delay = Some(delay);
        self
    }

    /// This weather, delivering every piece only after the previous one was
    /// read (see [`Weather::lockstep`]).
    pub fn with_lockstep(mut self) -> Self {
        self.lockstep = true;
        self
    }

    /// This weather, printing every piece to standard error or not.
    pub fn with_verbose(mut self, verbose: bool) -> Self {
        self.verbose = verbose;
        self
    }

    /// True when the proxy forwards every chunk as read, without pause.
    pub fn is_clear(&self) -> bool {
        Weather {
            verbose: false,
            lockstep: false,
            ..self.clone()
        } == Weather::default()
    }

    /// The short name of this weather, used as a column name in tables: the
    /// exact command-line flags that reproduce it (`--split 1`,
    /// `--sizes 3,7 --delay-ms 2`, `--seed 42`), or `clear` when there are
    /// none. Durations are written in whole milliseconds, as the flags take
    /// them; `--verbose` is left out because it does not change the stream.
    pub fn describe(&self) -> String {
        let flags = self.flags();
        if flags.is_empty() {
            "clear".to_string()
        } else {
            flags.join(" ")
        }
    }

    /// The command-line flags that reproduce this weather, one argument per
    /// element (empty for clear weather), ready for `Command::args`.
    pub fn flags(&self) -> Vec<String> {
        let mut flags = Vec::new();
        if let Some(max) = self.split {
            flags.extend(["--split".to_string(), max.to_string()]);
        }
        if !self.sizes.is_empty() {
            flags.extend(["--sizes".to_string(), self.sizes_list()]);
        }
        if let Some(window) = self.coalesce {
            flags.extend(["--coalesce-ms".to_string(), window.as_millis().to_string()]);
        }
        if let Some(delay) = self.delay {
            flags.extend(["--delay-ms".to_string(), delay.as_millis().to_string()]);
        }
        if let Some(seed) = self.seed {
            flags.extend(["--seed".to_string(), seed.to_string()]);
        }
        if self.lockstep && !flags.is_empty() {
            flags.push("--lockstep".to_string());
        }
        flags
    }

    /// Checks that every piece can hold at least one byte and that no pause
    /// is longer than [`MAX_PAUSE`]; the error says which flag to fix.
    pub fn check(&self) -> Result<(), String> {
        if self.split == Some(0) {
            let why = "--split 0 would cut the stream into empty pieces and never deliver a byte";
            return Err(format!("{why}; use --split 1 for the finest cut"));
        }
        for (flag, pause) in [("--coalesce-ms", self.coalesce), ("--delay-ms", self.delay)] {
            if pause.is_some_and(|p| p > MAX_PAUSE) {
                return Err(format!(
                    "{flag} is longer than {} ms; weather pauses are meant to be short, \
                     a few milliseconds is usually enough",
                    MAX_PAUSE.as_millis()
                ));
            }
        }
        if self.sizes.contains(&0) {
            return Err(format!(
                "--sizes {} contains 0, and an empty piece would never deliver a byte; \
                 use sizes of at least 1, for example --sizes 1,3,7",
                self.sizes_list()
            ));
        }
        Ok(())
    }

    /// The sizes as `--sizes` takes them: `3,7`.
    fn sizes_list(&self) -> String {
        let list: Vec<String> = self.sizes.iter().map(|s| s.to_string()).collect();
        list.join(",")
    }

    /// The piece plan of one direction of one connection: the pieces the
    /// proxy cuts from chunks of these lengths, read one after the other.
    /// A pure function of the weather, the direction and the lengths.
    pub fn piece_plan(&self, direction: Direction, chunk_lens: &[usize]) -> Vec<Piece> {
        let mut planner = PiecePlanner::new(self, direction);
        chunk_lens
            .iter()
            .flat_map(|&len| planner.cut(len))
            .collect()
    }
}

/// One direction of a proxied connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// From the client that connected to the proxy, towards the server.
    ClientToUpstream,
    /// From the server back to the client.
    UpstreamToClient,
}

impl Direction {
    /// Varies the seed per direction so the two directions are cut
    /// differently; client to upstream uses the seed as given.
    fn seed_salt(self) -> u64 {
        match self {
            Direction::ClientToUpstream => 0,
            Direction::UpstreamToClient => 0xA5A5_5EED_C0FF_EE00,
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Direction::ClientToUpstream => "client -> upstream",
            Direction::UpstreamToClient => "upstream -> client",
        })
    }
}

/// One write the proxy makes: how many bytes, after how long a pause.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Piece {
    /// Bytes in this write (at least 1).
    pub len: usize,
    /// How long the proxy waits before it writes them.
    pub delay: Duration,
}

/// Cuts the chunks of one direction into pieces, as [`Weather`] says. It
/// keeps state across chunks: a planned `--sizes` or seeded piece that a
/// chunk ends in the middle of continues in the next chunk, so the planned
/// cuts sit at the same stream positions however the reads fell.
#[derive(Clone, Debug)]
pub struct PiecePlanner {
    split: Option<usize>,
    sizes: Vec<usize>,
    next_size: usize,
    rng: Option<SplitMix64>,
    fixed_delay: Duration,
    /// Bytes of the current planned piece not yet delivered.
    left_in_piece: usize,
    /// The seeded pause of the current planned piece, spent on its first write.
    pending_delay: Duration,
}

impl PiecePlanner {
    /// A fresh plan for one direction of one connection.
    pub fn new(weather: &Weather, direction: Direction) -> Self {
        Self {
            split: weather.split,
            sizes: weather.sizes.clone(),
            next_size: 0,
            rng: weather
                .seed
                .map(|seed| SplitMix64::new(seed ^ direction.seed_salt())),
            fixed_delay: weather.delay.unwrap_or(Duration::ZERO),
            left_in_piece: 0,
            pending_delay: Duration::ZERO,
        }
    }

    /// The pieces for the next chunk of `chunk_len` bytes; their lengths add
    /// up to `chunk_len`, and none is empty.
    pub fn cut(&mut self, chunk_len: usize) -> Vec<Piece> {
        let mut pieces = Vec::new();
        let mut rest = chunk_len;
        while rest > 0 {
            let cuts_stream = !self.sizes.is_empty() || self.rng.is_some();
            let mut delay = self.fixed_delay;
            let mut len = if cuts_stream {
                if self.left_in_piece == 0 {
                    self.start_planned_piece();
                }
                delay += std::mem::take(&mut self.pending_delay);
                self.left_in_piece.min(rest)
            } else {
                rest
            };
            // A zero cap is refused by `Weather::check`; `max(1)` only keeps
            // a planner built from an unchecked weather from looping forever.
            if let Some(max) = self.split {
                len = len.min(max.max(1));
            }
            if cuts_stream {
                self.left_in_piece -= len;
            }
            rest -= len;
            pieces.push(Piece { len, delay });
        }
        pieces
    }

    fn start_planned_piece(&mut self) {
        let size = if self.sizes.is_empty() {
            self.rng.as_mut().map_or(usize::MAX, SplitMix64::piece_size)
        } else {
            let size = self.sizes[self.next_size % self.sizes.len()];
            self.next_size = (self.next_size + 1) % self.sizes.len();
            size
        };
        self.left_in_piece = size.max(1);
        self.pending_delay = self
            .rng
            .as_mut()
            .map_or(Duration::ZERO, SplitMix64::piece_pause);
    }
}

/// splitmix64 (Steele, Lea and Flood, 2014), written out so that the
/// sequence of a seed is fixed forever by this file alone.
#[derive(Clone, Debug)]
struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// 1..=64, biased small: half 1-4, a quarter 5-16, a quarter 17-64. The
    /// low bits pick the band, the high bits the size within it, so the two
    /// choices do not depend on each other.
    fn piece_size(&mut self) -> usize {
        let x = self.next_u64();
        let within = x >> 32;
        let size = match x % 4 {
            0 | 1 => 1 + within % 4,
            2 => 5 + within % 12,
            _ => 17 + within % 48,
        };
        // At most 64, so the conversion cannot truncate.
        size as usize
    }

    /// One piece in eight waits 1-3 ms; the others do not wait.
    fn piece_pause(&mut self) -> Duration {
        let x = self.next_u64();
        if x % 8 == 0 {
            Duration::from_millis(1 + (x >> 32) % 3)
        } else {
            Duration::ZERO
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first outputs of the generator are the published splitmix64 values, so seeds replay forever.
    #[test]
    fn splitmix64_is_the_published_sequence() {
        let mut rng = SplitMix64::new(0);
        assert_eq!(rng.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(rng.next_u64(), 0x6E78_9E6A_A1B9_65F4);
        assert_eq!(rng.next_u64(), 0x06C4_5D18_8009_454F);
    }

    /// A seeded plan is a pure function of seed and chunk lengths; other seeds and directions differ.
    #[test]
    fn seeded_plan_is_reproducible() {
        let lens = [100, 3, 250, 1, 40];
        let a = Weather::seeded(42).piece_plan(Direction::ClientToUpstream, &lens);
        let again = Weather::seeded(42).piece_plan(Direction::ClientToUpstream, &lens);
        let other_seed = Weather::seeded(43).piece_plan(Direction::ClientToUpstream, &lens);
        let other_way = Weather::seeded(42).piece_plan(Direction::UpstreamToClient, &lens);
        assert_eq!(a, again);
        assert_ne!(a, other_seed);
        assert_ne!(a, other_way);
        assert_eq!(
            a.iter().map(|p| p.len).sum::<usize>(),
            lens.iter().sum::<usize>()
        );
        assert!(a.iter().all(|p| (1..=64).contains(&p.len)));
        assert!(a.iter().all(|p| p.delay <= Duration::from_millis(3)));
        // Pinned: if this changes, every seed in every bug report replays differently.
        let first: Vec<(usize, u128)> = Weather::seeded(42)
            .piece_plan(Direction::ClientToUpstream, &[120])
            .iter()
            .map(|p| (p.len, p.delay.as_millis()))
            .collect();
        assert_eq!(first, PINNED_SEED_42);
    }

    /// The plan of seed 42 for one 120-byte chunk, client to upstream, as
    /// (size, pause in ms); computed independently by a Python splitmix64.
    const PINNED_SEED_42: &[(usize, u128)] = &[
        (3, 0),
        (12, 0),
        (11, 0),
        (1, 0),
        (4, 0),
        (43, 0),
        (10, 0),
        (1, 0),
        (3, 0),
        (21, 1),
        (4, 0),
        (2, 0),
        (3, 0),
        (2, 0),
    ];

    /// Fixed sizes cut at the same stream positions whatever the chunks; split caps every chunk.
    #[test]
    fn sizes_and_split_plans() {
        let lens = |plan: Vec<Piece>| plan.iter().map(|p| p.len).collect::<Vec<_>>();
        let sizes = Weather::sizes(&[2, 3]);
        assert_eq!(
            lens(sizes.piece_plan(Direction::ClientToUpstream, &[12])),
            [2, 3, 2, 3, 2]
        );
        // A chunk that ends inside a planned piece: the rest continues in the next chunk.
        assert_eq!(
            lens(sizes.piece_plan(Direction::ClientToUpstream, &[4, 8])),
            [2, 2, 1, 2, 3, 2]
        );
        let split = Weather::split(3);
        assert_eq!(
            lens(split.piece_plan(Direction::ClientToUpstream, &[7, 2])),
            [3, 3, 1, 2]
        );
        assert_eq!(
            lens(Weather::clear().piece_plan(Direction::UpstreamToClient, &[7, 2])),
            [7, 2]
        );
        let delayed = Weather::split(4).with_delay(Duration::from_millis(2));
        assert!(delayed
            .piece_plan(Direction::ClientToUpstream, &[10])
            .iter()
            .all(|p| p.delay == Duration::from_millis(2)));
    }
}
