//! The `teaminbox` binary: everything is in the library; `cli` parses and runs the command.

fn main() -> anyhow::Result<()> {
    teaminbox::cli::run()
}
