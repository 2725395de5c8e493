//! Part II, `framing-gallery`: the other ways real protocols delimit
//! messages, side by side, and a verifier any decoder can be run through.
//!
//! # The lesson
//!
//! Stage 4 ends at one answer, a 4-byte length header. It is not the only
//! one, and often not the best: a text protocol wants lines, a serial link
//! wants a delimiter it can resynchronise on, protobuf saves three bytes a
//! message with a varint, HTTP wants headers it can extend. Each framing is
//! a different answer to the same questions: can the message hold any byte?
//! can it be empty? must the sender know its length first? can a reader find
//! its feet after garbage? what does it cost? and what can a hostile peer
//! make the reader allocate? `cargo run -p framing-gallery` puts the same
//! awkward messages through all eight and prints the answers as a table.
//!
//! Every decoder here works the way real servers read: **an incremental
//! decoder over a growing buffer** ([`codec`]). Push whatever bytes arrived,
//! pull out every whole frame, keep the rest; "need more" is an ordinary
//! answer, and bytes left at the end of the stream are an error. Every
//! decoder refuses an oversized or malformed frame before it allocates for
//! it, with an error that carries the numbers.
//!
//! # Wire formats
//!
//! One module each, every one with a byte diagram: [`fixed`], [`lines`],
//! [`cobs`], [`netstring`], [`length4`] (stage 4's), [`varint`],
//! [`content_length`], [`half_close`].
//!
//! # Known weaknesses
//!
//! The decoders copy each frame out of the buffer into a `Vec<u8>` of its
//! own (tokio's `BytesMut::split_to` hands out a view without copying), and
//! [`codec::FrameReader`] reads with a plain `Read`, one connection per
//! thread. Both are deliberate: the lesson is the framing, not the I/O model.
//!
//! # Layout
//!
//! - [`codec`]: the trait pair ([`Decoder`], [`Encoder`]), the [`Buffer`]
//!   and the driver ([`FrameReader`]), as tokio-util's `codec` module.
//! - [`strategies`]: one module per framing, and [`Strategy`], the list.
//! - `verify`: **the decoder verifier**, for the gallery's decoders, stage
//!   4's and stage 6's readers, and a student's own (feature `verifier`, on
//!   by default).
//! - [`wire`]: sending messages over a real socket and reading them back,
//!   for the demo, the story matrix ([`matrix_trial`]) and the costs table
//!   ([`costs`]).
//! - `demo`: the side-by-side run and the decision table (feature
//!   `verifier`, which checks its hostile inputs).

pub mod codec;
pub mod costs;
#[cfg(feature = "verifier")]
pub mod demo;
pub mod strategies;
#[cfg(feature = "verifier")]
pub mod verify;
pub mod wire;

pub use codec::{Buffer, DecodeError, Decoder, EncodeError, Encoder, FrameReader, ReadError};
#[cfg(feature = "verifier")]
pub use demo::{demo_transcript, demo_transcript_in};
pub use strategies::{
    cobs, content_length, fixed, half_close, length4, lines, netstring, varint, Limits, Strategy,
    Traits,
};
pub use wire::matrix_trial;
