//! Builds the dashboard (`frontend/dist`, embedded into release binaries) when it is
//! missing or older than its sources, so `cargo run -p sentinel-server -- serve` works on
//! a fresh clone and never embeds a stale dashboard. Needs Node 20.19+ and npm; without
//! them the binary still builds and `/` says how to add the dashboard.
//! `SENTINEL_SKIP_DASHBOARD_BUILD=1` skips this.

use std::path::Path;
use std::process::Command;
use std::time::SystemTime;

/// Newest modification time under `path` (a file or a folder, recursively).
fn newest(path: &Path) -> Option<SystemTime> {
    let meta = std::fs::metadata(path).ok()?;
    if meta.is_file() {
        return meta.modified().ok();
    }
    std::fs::read_dir(path)
        .ok()?
        .flatten()
        .filter_map(|entry| newest(&entry.path()))
        .max()
}

fn main() {
    let frontend = Path::new(env!("CARGO_MANIFEST_DIR")).join("../frontend");
    let index = frontend.join("dist/index.html");
    let sources = [
        frontend.join("src"),
        frontend.join("public"),
        frontend.join("index.html"),
        frontend.join("package-lock.json"),
        frontend.join("vite.config.ts"),
    ];
    println!("cargo:rerun-if-changed={}", index.display());
    for source in &sources {
        println!("cargo:rerun-if-changed={}", source.display());
    }
    println!("cargo:rerun-if-env-changed=SENTINEL_SKIP_DASHBOARD_BUILD");
    if std::env::var_os("SENTINEL_SKIP_DASHBOARD_BUILD").is_some()
        || !frontend.join("package.json").is_file()
    {
        return;
    }
    let built = std::fs::metadata(&index).and_then(|m| m.modified()).ok();
    let changed = sources.iter().filter_map(|p| newest(p)).max();
    let fresh = matches!((built, changed), (Some(b), Some(c)) if b >= c);
    if fresh {
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
    let installed =
        frontend.join("node_modules").is_dir() || npm(&["ci", "--no-audit", "--no-fund"]);
    if !(installed && npm(&["run", "build"])) {
        println!(
            "cargo:warning=the dashboard was not built (npm ci && npm run build in frontend/ failed \
             or npm is missing); sentinel will serve the API without it"
        );
    }
}
