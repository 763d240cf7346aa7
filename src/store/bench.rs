//! SQL for the benchmark only: bulk data generation and the bare-rusqlite baseline.
