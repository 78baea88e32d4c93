//! The command line: `serve` (default), `migrate`, `user ...`, `ollama-sim`.

use std::{io::Read, net::SocketAddr, path::PathBuf, time::Duration};

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};

use super::{
    auth::password,
    backup, bootstrap,
    config::Settings,
    db::{self, Db, users},
    logging,
    ollama_sim::{self, Fault, SimOptions, Simulator},
    startup,
};
use crate::model::Role;

#[derive(Parser)]
#[command(
    name = "energyapp-llm",
    version,
    about = "Private chat front end and gateway for a local Ollama"
)]
pub struct Cli {
    /// Settings file (default: config/settings.yaml, or $ENERGYAPP_CONFIG).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the web server (the default).
    Serve(ServeArgs),
    /// Apply database migrations and exit.
    Migrate,
    /// Manage accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Run the Ollama simulator (speaks Ollama's HTTP API; for tests, benchmarks, demos).
    OllamaSim(SimArgs),
    /// Print the REST API's OpenAPI 3.1 document (JSON) and exit.
    Openapi,
    /// Copy the SQLite database to FILE while the service runs (consistent snapshot).
    Backup {
        #[arg(long, value_name = "FILE")]
        to: PathBuf,
        /// Replace FILE if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Put a backup in place of the SQLite database (stop the service first). Checks the
    /// file; replaces an existing database only with --force (keeping it beside).
    Restore {
        #[arg(long, value_name = "FILE")]
        from: PathBuf,
        #[arg(long)]
        force: bool,
    },
}

#[derive(Args, Default)]
struct ServeArgs {
    /// Also start the built-in Ollama simulator and use it instead of a real Ollama.
    #[arg(long)]
    demo: bool,
    /// Listen address (overrides server.bind).
    #[arg(long)]
    bind: Option<SocketAddr>,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create an account. Without --password-stdin a password is generated and printed.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long, value_parser = parse_role, default_value = "user")]
        role: Role,
        /// Read the password from standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set an account's password.
    SetPassword {
        #[arg(long)]
        email: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// List accounts.
    List,
}

#[derive(Args)]
struct SimArgs {
    #[arg(long, default_value = "127.0.0.1:11434")]
    bind: SocketAddr,
    /// Tokens per answer.
    #[arg(long, default_value_t = 40)]
    tokens: usize,
    #[arg(long, default_value_t = 20)]
    token_delay_ms: u64,
    #[arg(long, default_value_t = 0)]
    first_token_delay_ms: u64,
    /// 500, not_found, error_mid:N, cut:N or stall:N
    #[arg(long)]
    fault: Option<Fault>,
    /// Comma-separated installed models.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "qwen2.5:3b-instruct,llama3.2:1b"
    )]
    models: Vec<String>,
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s).ok_or_else(|| format!("unknown role {s:?}: use admin or user"))
}

/// Parses arguments and runs the command.
pub async fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Serve(ServeArgs::default()));
    match command {
        Command::OllamaSim(args) => return run_simulator(args).await,
        Command::Openapi => {
            let doc = super::rest::openapi_document();
            println!("{}", serde_json::to_string_pretty(&doc)?);
            return Ok(());
        }
        _ => {}
    }
    let mut settings = Settings::load(cli.config.as_deref())?;
    logging::init(&settings)?;
    match command {
        Command::Serve(args) => {
            if let Some(bind) = args.bind {
                settings.server.bind = bind;
            }
            startup::start(settings, args.demo)
                .await?
                .until_signal()
                .await
        }
        // Only the schema: safe while another (older) server still serves this database; the
        // start-up work (recovering interrupted answers, the first admin) is left to `serve`.
        Command::Migrate => {
            let db = startup::migrated_database(&settings).await?;
            startup::ensure_first_admin(&db, &settings).await?;
            println!(
                "migrations applied to {}",
                db::shown_url(&settings.database.url)
            );
            Ok(())
        }
        Command::User(cmd) => run_user(cmd, &settings).await,
        Command::Backup { to, force } => {
            let s = backup::backup(&settings.database.url, &to, force).await?;
            println!(
                "backup written to {} ({} bytes, migration {}): {} users, {} conversations, {} messages",
                to.display(),
                s.bytes,
                s.migration,
                s.users,
                s.conversations,
                s.messages
            );
            Ok(())
        }
        Command::Restore { from, force } => {
            let (s, target) = backup::restore(&settings.database.url, &from, force).await?;
            println!(
                "restored {} to {} (migration {}): {} users, {} conversations, {} messages; \
                 start the service to use it",
                from.display(),
                target.display(),
                s.migration,
                s.users,
                s.conversations,
                s.messages
            );
            Ok(())
        }
        Command::OllamaSim(_) | Command::Openapi => unreachable!("handled above"),
    }
}

async fn run_user(cmd: UserCommand, settings: &Settings) -> anyhow::Result<()> {
    let db = Db::connect(&settings.database.url, 2)
        .await
        .context("cannot open the database")?;
    db.migrate().await?;
    let cost = settings.auth.bcrypt_cost;
    match cmd {
        UserCommand::Create {
            email,
            role,
            password_stdin,
        } => {
            if !email.contains('@') || email.trim().len() < 3 {
                bail!("--email: {email:?} is not an email address");
            }
            let (pw, generated) = password_from(password_stdin)?;
            password::check_rule(&pw)?;
            let hash = password::hash(&pw, cost).await?;
            let user = users::create(&db, &email, &hash, role).await?;
            println!("created {} ({})", user.email, user.role.as_str());
            if generated {
                println!("password: {pw}");
            }
        }
        UserCommand::SetPassword {
            email,
            password_stdin,
        } => {
            let user = users::find_by_email(&db, &email)
                .await?
                .with_context(|| format!("no account with email {email}"))?;
            let (pw, generated) = password_from(password_stdin)?;
            password::check_rule(&pw)?;
            let hash = password::hash(&pw, cost).await?;
            users::set_password(&db, &user.id, &hash).await?;
            println!("password changed for {}", user.email);
            if generated {
                println!("password: {pw}");
            }
        }
        UserCommand::List => {
            println!(
                "{:<36}  {:<32}  {:<5}  {:<6}  created",
                "id", "email", "role", "active"
            );
            for u in users::list(&db).await? {
                println!(
                    "{:<36}  {:<32}  {:<5}  {:<6}  {}",
                    u.id,
                    u.email,
                    u.role.as_str(),
                    u.active,
                    u.created_at
                );
            }
        }
    }
    Ok(())
}

/// The password from stdin (first line), or a generated one.
fn password_from(stdin: bool) -> anyhow::Result<(String, bool)> {
    if !stdin {
        return Ok((bootstrap::random_password(), true));
    }
    let mut input = String::new();
    std::io::stdin().read_to_string(&mut input)?;
    let pw = input.lines().next().unwrap_or("").to_string();
    if pw.is_empty() {
        bail!("--password-stdin: no password on standard input");
    }
    Ok((pw, false))
}

async fn run_simulator(args: SimArgs) -> anyhow::Result<()> {
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .try_init();
    let sim = Simulator::new(SimOptions {
        models: args.models,
        tokens: args.tokens,
        token_delay: Duration::from_millis(args.token_delay_ms),
        first_token_delay: Duration::from_millis(args.first_token_delay_ms),
        fault: args.fault,
    });
    let (addr, task) = ollama_sim::spawn(sim, args.bind)
        .await
        .with_context(|| format!("cannot listen on {}", args.bind))?;
    println!("Ollama simulator listening on http://{addr}");
    tokio::select! {
        _ = super::http::termination_signal() => {},
        _ = task => {},
    }
    Ok(())
}
