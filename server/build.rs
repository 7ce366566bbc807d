//! Builds the dashboard (`frontend/dist`, embedded into the binary) when it is missing,
//! so `cargo run -p sentinel-server -- serve` works on a fresh clone. Needs Node 20.19+
//! and npm; without them the binary still builds and `/` says how to add the dashboard.
//! `SENTINEL_SKIP_DASHBOARD_BUILD=1` skips this.

use std::path::Path;
use std::process::Command;

fn main() {
    let frontend = Path::new(env!("CARGO_MANIFEST_DIR")).join("../frontend");
    let index = frontend.join("dist/index.html");
    println!("cargo:rerun-if-changed={}", index.display());
    println!("cargo:rerun-if-env-changed=SENTINEL_SKIP_DASHBOARD_BUILD");
    if index.is_file()
        || std::env::var_os("SENTINEL_SKIP_DASHBOARD_BUILD").is_some()
        || !frontend.join("package.json").is_file()
    {
        return;
    }
    let npm = |args: &[&str]| {
        Command::new("npm")
            .args(args)
            .current_dir(&frontend)
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    };
    if !(npm(&["ci", "--no-audit", "--no-fund"]) && npm(&["run", "build"])) {
        println!(
            "cargo:warning=the dashboard was not built (npm ci && npm run build in frontend/ failed \
             or npm is missing); sentinel will serve the API without it"
        );
    }
}
