//! Parses the benchmark's 1,000-campaign file once, for profilers (`valgrind --tool=callgrind`).

#[path = "../benches/corpus.rs"]
mod corpus;

fn main() {
    let src = corpus::thousand_campaigns();
    let ok = camp_lang::syntax::pest_only(&src);
    println!("{ok}");
}
