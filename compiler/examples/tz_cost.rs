fn main() {
    let program = camp_compiler::time::nanos(chrono::Utc::now());
    let zone = camp_compiler::ir::Zone::Named(chrono_tz::Asia::Tokyo);
    let t = std::time::Instant::now();
    let mut acc = 0i64;
    for i in 0..1_000_000i64 {
        acc += i64::from(camp_compiler::time::month_of(program + i * 1_000_000_000, zone));
    }
    println!("month_of {:?}/call {acc}", t.elapsed() / 1_000_000);
    let t = std::time::Instant::now();
    for i in 0..1_000_000i64 {
        acc += camp_compiler::time::month_start(program + i * 1_000_000_000, zone);
    }
    println!("month_start {:?}/call {acc}", t.elapsed() / 1_000_000);
}
