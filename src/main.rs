//! The tour: every stage's demo in order. (Being written.)
fn main() {
    println!("sticky-packets: the tour is being written");
}
