//! External programs the deployment tests drive (Debian's `caddy`, `fail2ban-regex`).

use std::path::PathBuf;

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Whether `program` is on PATH. When it is not: on CI (`CI` set) the test fails, since
/// `scripts/setup.sh --test` installs it; elsewhere the caller skips, saying so.
pub fn available(program: &str, package: &str) -> bool {
    let found = std::process::Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "{program} is missing: `scripts/setup.sh --test` installs Debian's {package}"
        );
        eprintln!("SKIPPED: {program} is not installed (apt-get install {package})");
    }
    found
}
