//! Writes the benchmark snapshot to stdout, for the other runtimes' benchmarks.
fn main() {
    println!("{}", flagcore_bench::snapshot_json());
}
