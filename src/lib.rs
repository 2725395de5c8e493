//! The tour of sticky-packets: every stage's demo in order, the story matrix,
//! and what each fix costs.
//!
//! The lessons themselves live in the stage crates under `crates/`; this
//! crate only strings them together for a class:
//!
//! - [`tour`]: the six demos in order, each under a heading.
//! - [`matrix`]: each TCP stage through a fixed set of network weathers, as
//!   one table of what survived and what broke.
//! - [`costs`]: measurements, for `--release`, of what each fix costs.
//! - [`checker`]: the exercise checker behind `cargo run -- exercises`.
//! - [`attack`]: a hostile crowd to point at a running server, to show its
//!   defences in class.
//! - [`pictures`]: the SVG pictures in `docs/pictures/`, drawn from the demos'
//!   boundary timelines.

pub mod attack;
pub mod checker;
pub mod costs;
pub mod matrix;
pub mod pictures;
pub mod tour;
