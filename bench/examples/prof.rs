//! Parses the benchmark snapshot in a loop, for a profiler.
fn main() {
    let text = flagcore_bench::snapshot_json();
    let n: u32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(300);
    let t = std::time::Instant::now();
    for _ in 0..n {
        std::hint::black_box(
            flagcore::Snapshot::from_json(text.as_bytes())
                .map(|s| s.flag_keys().len())
                .ok(),
        );
    }
    println!("{} bytes: {:?} per parse", text.len(), t.elapsed() / n);
}
