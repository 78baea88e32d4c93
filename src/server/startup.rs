//! Turning settings into a running server (used by `serve` and by the integration tests).

use std::{net::SocketAddr, path::Path, sync::Arc, time::Duration};

use anyhow::Context;
use leptos::prelude::LeptosOptions;
use tokio::{
    sync::{oneshot, watch},
    task::JoinHandle,
};

use super::{
    auth::{
        jwt::JwtKeys,
        secret,
        throttle::{Limits, LoginThrottle},
    },
    backends::{Backends, ModelCatalog},
    bootstrap::{self, AdminBootstrap},
    chat::{checkpoints::Checkpoints, registry::Generations, turn_writer::TurnWriter},
    cluster::Cluster,
    config::{RunEnv, Settings},
    db::{self, Backend as DbBackend, Db, messages},
    http::{self, assets::Bundle},
    ollama_sim::{self, SimOptions, Simulator},
    state::AppState,
};

/// The bundle's directory inside the site root.
pub const PKG_DIR: &str = "pkg";

/// Where the site bundle (WASM, JS, CSS, assets) is served from.
pub fn site_root() -> String {
    std::env::var("LEPTOS_SITE_ROOT").unwrap_or_else(|_| "target/site".into())
}

/// Opens the database, migrates, recovers interrupted answers (on SQLite; on PostgreSQL other
/// instances may be generating: see `cluster::recover_abandoned`) and ensures an admin exists.
pub async fn prepare_database(settings: &Settings) -> anyhow::Result<Db> {
    let db = migrated_database(settings).await?;
    if db.backend == DbBackend::Sqlite {
        let recovered = messages::recover_interrupted(&db)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        report_recovered(recovered);
    }
    ensure_first_admin(&db, settings).await?;
    Ok(db)
}

fn report_recovered(count: u64) {
    if count > 0 {
        tracing::warn!(
            count,
            "answers left streaming by a previous run are now marked interrupted"
        );
    }
}

/// Opens the database and applies pending migrations; nothing else, so it is safe while
/// another server (the release being replaced) still serves the same database.
pub async fn migrated_database(settings: &Settings) -> anyhow::Result<Db> {
    let db = Db::connect(&settings.database.url, settings.database.max_connections)
        .await
        .with_context(|| {
            format!(
                "cannot open the database at database.url = {}",
                db::shown_url(&settings.database.url)
            )
        })?;
    db.migrate()
        .await
        .context("cannot apply database migrations")?;
    Ok(db.with_quick_commits(settings.database.quick_commits))
}

/// Creates the first admin if there is none (printing a generated password once).
pub async fn ensure_first_admin(db: &Db, settings: &Settings) -> anyhow::Result<()> {
    match bootstrap::ensure_admin(db, settings)
        .await
        .map_err(|e| anyhow::anyhow!("bootstrap admin: {e}"))?
    {
        AdminBootstrap::Existing => {}
        AdminBootstrap::CreatedFromEnv { email } => {
            tracing::info!(%email, "created the bootstrap admin account")
        }
        AdminBootstrap::Generated { email, password } => {
            println!(
                "\n  Created the first admin account (shown only once):\n    email:    {email}\n    password: {password}\n\n  \
                 Change it with: energyapp-llm user set-password --email {email} --password-stdin\n"
            );
        }
    }
    Ok(())
}

/// The built state of the application.
pub async fn build_state(
    settings: Settings,
    shutdown: watch::Receiver<bool>,
) -> anyhow::Result<AppState> {
    let db = prepare_database(&settings).await?;
    let jwt_secret = secret::resolve(&settings)?;
    let jwt = JwtKeys::new(
        &jwt_secret,
        &settings.auth.issuer,
        settings.auth.access_ttl_secs,
    );
    let backends = Backends::new(&settings);
    // Pages load the bundle from a path named after its content (see `http::assets`).
    let bundle = Bundle::read(&Path::new(&site_root()).join(PKG_DIR));
    let pkg_path = bundle
        .as_ref()
        .map_or_else(|| PKG_DIR.to_string(), |b| b.pkg_path(PKG_DIR));
    let leptos_options = LeptosOptions::builder()
        .output_name("energyapp-llm")
        .site_root(site_root())
        .site_pkg_dir(pkg_path)
        .site_addr(settings.server.bind)
        .env(if settings.app.env == RunEnv::Dev {
            leptos::config::Env::DEV
        } else {
            leptos::config::Env::PROD
        })
        .build();
    let limits = Limits {
        per_account: settings.auth.login_max_failures,
        per_ip: settings.auth.login_max_failures_per_ip,
        lockout: Duration::from_secs(settings.auth.login_lockout_secs),
    };
    // On PostgreSQL several instances may serve together: they count failures in the database.
    let throttle = match db.backend {
        DbBackend::Sqlite => LoginThrottle::new(limits),
        DbBackend::Postgres => LoginThrottle::shared(limits, db.clone()),
    };
    let generations = Generations::default();
    let cluster = match db.backend {
        DbBackend::Sqlite => None,
        DbBackend::Postgres => Some(
            Cluster::start(&settings.database.url, generations.clone())
                .await
                .context("cannot listen for the other instances (PostgreSQL LISTEN)")?,
        ),
    };
    if let Some(cluster) = &cluster {
        let recovered = super::cluster::recover_abandoned(cluster, &db)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        report_recovered(recovered);
        super::cluster::spawn_sweeper(cluster.clone(), db.clone(), shutdown.clone());
    }
    let settings = Arc::new(settings);
    let checkpoints = Checkpoints::start(db.clone());
    let turns = TurnWriter::start(db.clone());
    Ok(AppState {
        leptos_options,
        bundle,
        settings: settings.clone(),
        db,
        models: ModelCatalog::new(backends.clone()),
        backends,
        jwt: Arc::new(jwt),
        throttle: Arc::new(throttle),
        generations,
        cluster,
        checkpoints,
        turns,
        settling: Default::default(),
        key_limits: Default::default(),
        shutdown,
    })
}

/// A server running in the background.
pub struct Running {
    pub addr: SocketAddr,
    pub state: AppState,
    pub simulator: Option<(SocketAddr, Simulator)>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Running {
    /// Stops accepting and waits for the server to finish (grace period included).
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.task.await??;
        // The last answers' final writes (their listeners may already have heard the end).
        self.state.settling.all_settled().await;
        Ok(())
    }

    /// Runs until SIGTERM / Ctrl-C, then shuts down gracefully.
    pub async fn until_signal(self) -> anyhow::Result<()> {
        http::termination_signal().await;
        self.shutdown().await
    }
}

/// Starts the server; with `demo`, also the built-in Ollama simulator, and points at it.
pub async fn start(mut settings: Settings, demo: bool) -> anyhow::Result<Running> {
    let simulator = if demo {
        Some(start_demo_simulator(&mut settings).await?)
    } else {
        None
    };
    let (abort_tx, abort_rx) = watch::channel(false);
    let grace = Duration::from_secs(settings.server.shutdown_grace_secs);
    let write_stall = Duration::from_secs(settings.server.write_stall_timeout_secs);
    let bind = settings.server.bind;
    let state = build_state(settings, abort_rx).await?;
    let listener = http::bind(bind)
        .await
        .with_context(|| format!("cannot listen on server.bind = {bind}"))?;
    let addr = listener.local_addr()?;
    state.backends.spawn_health_checks();
    warn_if_ollama_unreachable(state.clone());
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let app = http::router(state.clone());
    super::memory::release_startup_garbage();
    let stop = async move {
        let _ = stop_rx.await;
    };
    let task = tokio::spawn(http::serve(
        listener,
        app,
        stop,
        abort_tx,
        grace,
        write_stall,
    ));
    tracing::info!(%addr, "energyapp-llm listening on http://{addr}");
    Ok(Running {
        addr,
        state,
        simulator,
        stop: Some(stop_tx),
        task,
    })
}

async fn start_demo_simulator(settings: &mut Settings) -> anyhow::Result<(SocketAddr, Simulator)> {
    let options = SimOptions {
        models: vec![settings.ollama.model.clone(), "llama3.2:1b".into()],
        tokens: settings.demo.tokens,
        token_delay: Duration::from_millis(settings.demo.token_delay_ms),
        first_token_delay: Duration::from_millis(settings.demo.first_token_delay_ms),
        fault: None,
    };
    let sim = Simulator::new(options);
    let (addr, _task) = ollama_sim::spawn(sim.clone(), SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .context("cannot start the demo Ollama simulator")?;
    settings.ollama.host = format!("http://{addr}");
    settings.ollama.hosts.clear();
    tracing::info!(%addr, "demo mode: answers come from the built-in Ollama simulator");
    Ok((addr, sim))
}

fn warn_if_ollama_unreachable(state: AppState) {
    tokio::spawn(async move {
        let model = &state.settings.ollama.model;
        state.backends.check_unknown().await;
        for backend in state.backends.all() {
            let host = backend.url();
            match backend.error() {
                None if backend.find_model(model).is_some() => {
                    tracing::info!(host, %model, "Ollama is reachable")
                }
                None => tracing::warn!(
                    host,
                    %model,
                    "Ollama is reachable but model {model} is not installed: run `ollama pull {model}`"
                ),
                Some(err) => tracing::warn!(
                    host,
                    "Ollama is not reachable ({err}); its chats go elsewhere, or fail while no \
                     backend is. Set ollama.host or ollama.hosts (ENERGYAPP_OLLAMA__HOST, \
                     ENERGYAPP_OLLAMA__HOSTS) or run with --demo to use the built-in simulator"
                ),
            }
        }
    });
}
