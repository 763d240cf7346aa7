//! `teaminbox bench`.

/// Options of `teaminbox bench`.
#[derive(clap::Args, Debug, Clone)]
pub struct BenchArgs {}

/// Runs the benchmark.
pub fn run(_args: BenchArgs) -> anyhow::Result<()> {
    Ok(())
}
