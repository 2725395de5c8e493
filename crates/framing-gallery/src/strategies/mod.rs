//! The eight framings, one module each, and [`Strategy`], the list the demo,
//! the matrix and the costs table walk through.

pub mod cobs;
pub mod content_length;
pub mod fixed;
pub mod half_close;
pub mod length4;
pub mod lines;
pub mod netstring;
pub mod varint;

use crate::codec::{Decoder, Encoder};

/// The limits a gallery decoder is built with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The one record size of [`fixed::FixedLength`].
    pub record: usize,
    /// The longest line of [`lines::Lines`].
    pub max_line: usize,
    /// The longest header block of [`content_length::ContentLength`].
    pub max_header: usize,
    /// The largest message every other decoder accepts.
    pub max_frame: usize,
}

impl Limits {
    /// The gallery's limits: 256-byte records, 8 KiB lines and header
    /// blocks, and stage 4's maximum frame (16 MiB) for everything else.
    pub const GALLERY: Limits = Limits {
        record: 256,
        max_line: lines::DEFAULT_MAX_LINE,
        max_header: content_length::DEFAULT_MAX_HEADER,
        max_frame: length_header_fix::DEFAULT_MAX_FRAME,
    };

    /// The same limits with another maximum for lines and frames, and
    /// records of `size`: for measuring frames of one size.
    pub fn for_size(size: usize) -> Limits {
        Limits {
            record: size,
            max_line: size.max(lines::DEFAULT_MAX_LINE),
            ..Limits::GALLERY
        }
    }
}

/// One framing of the gallery.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Strategy {
    /// [`fixed`]: every frame the same size.
    FixedLength,
    /// [`lines`]: ended by `\n`.
    Lines,
    /// [`cobs`]: ended by `00`, the payload escaped with COBS.
    Cobs,
    /// [`netstring`]: `5:hello,`.
    Netstring,
    /// [`length4`]: stage 4's 4-byte little-endian length.
    Length4,
    /// [`varint`]: a LEB128 length, as protobuf's delimited streams.
    Varint,
    /// [`content_length`]: a header block with `Content-Length`, as HTTP/1.1.
    ContentLength,
    /// [`half_close`]: one message per connection, ended by `shutdown(Write)`.
    HalfClose,
}

impl Strategy {
    /// Every strategy, in the order the gallery shows them.
    pub const ALL: [Strategy; 8] = [
        Strategy::FixedLength,
        Strategy::Lines,
        Strategy::Cobs,
        Strategy::Netstring,
        Strategy::Length4,
        Strategy::Varint,
        Strategy::ContentLength,
        Strategy::HalfClose,
    ];

    /// Its short name.
    pub fn name(self) -> &'static str {
        match self {
            Strategy::FixedLength => "fixed-length",
            Strategy::Lines => "lines",
            Strategy::Cobs => "cobs",
            Strategy::Netstring => "netstring",
            Strategy::Length4 => "length4",
            Strategy::Varint => "varint",
            Strategy::ContentLength => "content-length",
            Strategy::HalfClose => "half-close",
        }
    }

    /// Its row name in the story matrix and the costs table.
    pub fn row_name(self) -> &'static str {
        match self {
            Strategy::FixedLength => "gallery/fixed-length",
            Strategy::Lines => "gallery/lines",
            Strategy::Cobs => "gallery/cobs",
            Strategy::Netstring => "gallery/netstring",
            Strategy::Length4 => "gallery/length4",
            Strategy::Varint => "gallery/varint",
            Strategy::ContentLength => "gallery/content-length",
            Strategy::HalfClose => "gallery/half-close",
        }
    }

    /// True when each message needs a connection of its own.
    pub fn one_message_per_connection(self) -> bool {
        self == Strategy::HalfClose
    }

    /// A fresh encoder.
    pub fn encoder(self, limits: &Limits) -> Box<dyn Encoder + Send> {
        self.codec(limits).0
    }

    /// A fresh decoder.
    pub fn decoder(self, limits: &Limits) -> Box<dyn Decoder + Send> {
        self.codec(limits).1
    }

    fn codec(self, l: &Limits) -> (Box<dyn Encoder + Send>, Box<dyn Decoder + Send>) {
        fn pair<C: Encoder + Decoder + Clone + Send + 'static>(
            c: C,
        ) -> (Box<dyn Encoder + Send>, Box<dyn Decoder + Send>) {
            (Box::new(c.clone()), Box::new(c))
        }
        match self {
            Strategy::FixedLength => pair(fixed::FixedLength::new(l.record)),
            Strategy::Lines => pair(lines::Lines::new(l.max_line)),
            Strategy::Cobs => pair(cobs::Cobs::new(l.max_frame)),
            Strategy::Netstring => pair(netstring::Netstring::new(l.max_frame)),
            Strategy::Length4 => pair(length4::Length4::new(l.max_frame)),
            Strategy::Varint => pair(varint::Varint::new(l.max_frame)),
            Strategy::ContentLength => pair(content_length::ContentLength::new(
                l.max_header,
                l.max_frame,
            )),
            Strategy::HalfClose => pair(half_close::HalfClose::new(l.max_frame)),
        }
    }

    /// Its row of the decision table.
    pub fn traits(self) -> Traits {
        let t = |binary_safe, empty, streaming, resync, overhead, guard| Traits {
            binary_safe,
            empty,
            streaming,
            resync,
            overhead,
            guard,
        };
        match self {
            Strategy::FixedLength => t("yes", "no", "no", "no", "0 B", "none needed"),
            Strategy::Lines => t("no (\\n)", "yes", "yes", "yes: next \\n", "1 B", "max line"),
            Strategy::Cobs => t(
                "yes",
                "yes",
                "254 B ahead",
                "yes: next 00",
                "2 B + 1/254",
                "max frame",
            ),
            Strategy::Netstring => t("yes", "yes", "no", "no", "digits + 2 B", "digits, max"),
            Strategy::Length4 => t("yes", "yes", "no", "no", "4 B", "sign, max"),
            Strategy::Varint => t("yes", "yes", "no", "no", "1-10 B", "10 bytes, max"),
            Strategy::ContentLength => t(
                "yes",
                "yes",
                "no (chunked)",
                "no",
                "20 B + digits",
                "header, max",
            ),
            Strategy::HalfClose => t(
                "yes",
                "yes",
                "yes",
                "per connection",
                "a connection",
                "max message",
            ),
        }
    }
}

/// A row of the decision table: what a framing can carry and what it costs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Traits {
    /// Can a message hold any byte?
    pub binary_safe: &'static str,
    /// Can a message be empty?
    pub empty: &'static str,
    /// Can the sender start before it knows the length?
    pub streaming: &'static str,
    /// Can a reader find the next frame after garbage?
    pub resync: &'static str,
    /// Bytes added per message.
    pub overhead: &'static str,
    /// What the decoder refuses before allocating.
    pub guard: &'static str,
}
