//! The binary's command line: accounts, migrations, and clear refusals.

use std::{
    io::Write,
    process::{Command, Output, Stdio},
};

const BIN: &str = env!("CARGO_BIN_EXE_energyapp-llm");

fn run(dir: &std::path::Path, args: &[&str], stdin: Option<&str>, env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .current_dir(dir)
        .env(
            "ENERGYAPP_DATABASE__URL",
            format!("sqlite://{}/cli.db", dir.display()),
        )
        .env("ENERGYAPP_AUTH__BCRYPT_COST", "4")
        .env("ENERGYAPP_CONFIG", dir.join("none.yaml"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn users_are_managed_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["migrate"], None, &[]);
    assert!(out.status.success(), "{}", text(&out));

    let out = run(
        dir.path(),
        &[
            "user",
            "create",
            "--email",
            "Ana@Example.com",
            "--role",
            "admin",
            "--password-stdin",
        ],
        Some("a-long-password\n"),
        &[],
    );
    assert!(out.status.success(), "{}", text(&out));
    let out = run(
        dir.path(),
        &["user", "create", "--email", "ana@example.com"],
        None,
        &[],
    );
    assert!(!out.status.success());
    assert!(text(&out).contains("already exists"), "{}", text(&out));

    let out = run(
        dir.path(),
        &["user", "create", "--email", "luis@example.com"],
        None,
        &[],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("password: "),
        "a generated password is shown once"
    );

    let out = run(
        dir.path(),
        &[
            "user",
            "set-password",
            "--email",
            "luis@example.com",
            "--password-stdin",
        ],
        Some("short\n"),
        &[],
    );
    assert!(!out.status.success());
    assert!(text(&out).contains("at least 10"), "{}", text(&out));

    let out = run(dir.path(), &["user", "list"], None, &[]);
    let listing = String::from_utf8_lossy(&out.stdout);
    assert!(listing.contains("Ana@Example.com") && listing.contains("admin"));
    assert!(listing.contains("luis@example.com") && listing.contains("user"));
}

#[test]
fn bad_arguments_and_settings_fail_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        dir.path(),
        &[
            "user",
            "create",
            "--email",
            "x@example.com",
            "--role",
            "boss",
        ],
        None,
        &[],
    );
    assert!(!out.status.success());
    assert!(text(&out).contains("unknown role"), "{}", text(&out));

    let out = run(dir.path(), &["frobnicate"], None, &[]);
    assert!(!out.status.success());

    let out = run(
        dir.path(),
        &["migrate"],
        None,
        &[("ENERGYAPP_SERVER__BIND", "not-an-address")],
    );
    assert!(!out.status.success());
    assert!(text(&out).contains("server.bind"), "{}", text(&out));

    let out = run(
        dir.path(),
        &["migrate"],
        None,
        &[("ENERGYAPP_OLLAMA__TEMPERATURE", "9")],
    );
    assert!(!out.status.success());
    assert!(text(&out).contains("ollama.temperature"), "{}", text(&out));

    // An Ollama URL the server could not use, or one with a password, is refused at start.
    for (host, why) in [
        ("https://ollama.internal:11434", "https://"),
        ("http://admin:hunter2@10.0.0.5:11434", "user or password"),
    ] {
        let out = run(
            dir.path(),
            &["migrate"],
            None,
            &[("ENERGYAPP_OLLAMA__HOST", host)],
        );
        assert!(!out.status.success(), "{host}");
        assert!(text(&out).contains("ollama.host"), "{}", text(&out));
        assert!(text(&out).contains(why), "{}", text(&out));
    }

    let out = run(
        dir.path(),
        &["serve"],
        None,
        &[("ENERGYAPP_APP__ENV", "prod")],
    );
    assert!(!out.status.success());
    assert!(text(&out).contains("auth.jwt_secret"), "{}", text(&out));

    let out = run(
        dir.path(),
        &["migrate"],
        None,
        &[("ENERGYAPP_DATABASE__URL", "mysql://x")],
    );
    assert!(!out.status.success());
    assert!(text(&out).contains("database.url"), "{}", text(&out));

    // The refusal names the URL, but never its password.
    let out = run(
        dir.path(),
        &["migrate"],
        None,
        &[(
            "ENERGYAPP_DATABASE__URL",
            "postgres://energyapp:hunter2-secret@127.0.0.1:5432/energyapp?sslmode=bogus",
        )],
    );
    assert!(!out.status.success());
    assert!(
        text(&out).contains("postgres://energyapp:***@127.0.0.1:5432/energyapp"),
        "{}",
        text(&out)
    );
    assert!(!text(&out).contains("hunter2"), "{}", text(&out));

    let missing = dir.path().join("missing.yaml");
    let out = run(
        dir.path(),
        &["--config", missing.to_str().unwrap(), "migrate"],
        None,
        &[],
    );
    assert!(!out.status.success());
    assert!(text(&out).contains("does not exist"), "{}", text(&out));
}

#[test]
fn a_fresh_install_gets_an_admin_printed_once() {
    let dir = tempfile::tempdir().unwrap();
    let first = run(dir.path(), &["migrate"], None, &[]);
    assert!(String::from_utf8_lossy(&first.stdout).contains("admin@energyapp.local"));
    let second = run(dir.path(), &["migrate"], None, &[]);
    assert!(!String::from_utf8_lossy(&second.stdout).contains("password:"));
}
