//! The command line. Admin commands work directly on the store, without a running server, and
//! go through the same use cases as the admin REST API.

use crate::{Config, Server, build_app, system_clock, telemetry};
use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use realmgate_app::admin::AdminPrincipal;
use realmgate_app::admin::clients::ClientInput;
use realmgate_app::admin::users::{NewUser, PasswordInput, UserInput};
use realmgate_app::bootstrap::Bootstrap;
use realmgate_app::realms::RealmInput;
use realmgate_app::{App, AppError};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "realmgate",
    version,
    about = "Multitenant OpenID Connect provider"
)]
pub struct Cli {
    /// TOML configuration file (also REALMGATE_CONFIG).
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    /// Data directory for the embedded store and the master key (also REALMGATE_DATA_DIR).
    #[arg(long, global = true)]
    pub data_dir: Option<PathBuf>,
    /// Postgres URL; unset uses the embedded store (also REALMGATE_DATABASE_URL).
    #[arg(long, global = true)]
    pub database_url: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server.
    Serve(ServeArgs),
    /// Apply database migrations and exit.
    Migrate,
    /// Manage realms.
    #[command(subcommand)]
    Realm(RealmCmd),
    /// Manage clients.
    #[command(subcommand)]
    Client(ClientCmd),
    /// Manage users.
    #[command(subcommand)]
    User(UserCmd),
    /// Manage signing keys.
    #[command(subcommand)]
    Keys(KeysCmd),
    /// Manage database shards (`[[database.shards]]`).
    #[command(subcommand)]
    Shard(crate::cli_shard::ShardCmd),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (also REALMGATE_LISTEN; default 127.0.0.1:8080).
    #[arg(long)]
    pub listen: Option<String>,
    /// External base URL (also REALMGATE_PUBLIC_URL).
    #[arg(long)]
    pub public_url: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum RealmCmd {
    Create {
        name: String,
        #[arg(long)]
        display_name: Option<String>,
        /// The shard to place the realm on (default: the least loaded by weight).
        #[arg(long)]
        shard: Option<String>,
    },
    /// List realms: name, id, enabled, shard.
    List,
    Delete {
        name: String,
    },
    /// Move a realm to another shard; re-run it after any failure.
    Move {
        name: String,
        /// The target shard.
        #[arg(long)]
        to: String,
        /// The longest the realm's requests may be held back, e.g. `5s` or `500ms`.
        #[arg(long, default_value = "5s", value_parser = crate::cli_shard::parse_duration)]
        max_pause: std::time::Duration,
    },
}

#[derive(Debug, Subcommand)]
pub enum ClientCmd {
    /// Create a client; a confidential client's secret is printed once.
    Create {
        #[arg(long)]
        realm: String,
        #[arg(long)]
        client_id: String,
        /// The secret (generated when omitted).
        #[arg(long)]
        secret: Option<String>,
        /// A public client (PKCE, no secret).
        #[arg(long)]
        public: bool,
        #[arg(long = "redirect-uri")]
        redirect_uris: Vec<String>,
        /// Enable client_credentials (a service account).
        #[arg(long)]
        service_account: bool,
        /// Enable the password grant.
        #[arg(long)]
        direct_access: bool,
        #[arg(long)]
        consent_required: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCmd {
    Create {
        #[arg(long)]
        realm: String,
        #[arg(long)]
        username: String,
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        first_name: Option<String>,
        #[arg(long)]
        last_name: Option<String>,
        /// The password (prefer --password-stdin or REALMGATE_USER_PASSWORD).
        #[arg(long, env = "REALMGATE_USER_PASSWORD", hide_env_values = true)]
        password: Option<String>,
        #[arg(long)]
        password_stdin: bool,
    },
    SetPassword {
        #[arg(long)]
        realm: String,
        #[arg(long)]
        username: String,
        #[arg(long, env = "REALMGATE_USER_PASSWORD", hide_env_values = true)]
        password: Option<String>,
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysCmd {
    /// Rotate a realm's signing key: active → retired, next → active, new next.
    Rotate {
        #[arg(long)]
        realm: String,
        #[arg(long, default_value = "RS256")]
        alg: String,
    },
}

fn cli_principal() -> AdminPrincipal {
    AdminPrincipal {
        realm: "master".into(),
        subject: "realmgate-cli".into(),
        client_id: "realmgate-cli".into(),
        super_admin: true,
        realm_admin: false,
    }
}

fn read_password(given: Option<String>, stdin: bool) -> anyhow::Result<Option<String>> {
    if stdin {
        let mut line = String::new();
        std::io::stdin()
            .read_line(&mut line)
            .context("reading the password from stdin")?;
        return Ok(Some(line.trim_end_matches(['\n', '\r']).to_owned()));
    }
    Ok(given)
}

fn app_err(e: AppError) -> anyhow::Error {
    anyhow::anyhow!("{e}")
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let mut cfg = Config::load(cli.config.as_deref())?;
    if let Some(d) = cli.data_dir {
        cfg.data_dir = d;
    }
    if let Some(u) = cli.database_url {
        cfg.database.url = Some(u);
    }
    if !matches!(cli.command, Command::Serve(_)) {
        cfg.log.filter = std::env::var("REALMGATE_LOG").unwrap_or_else(|_| "warn".into());
    }
    telemetry::init(&cfg.log);
    match cli.command {
        Command::Serve(args) => serve(cfg, args).await,
        Command::Migrate => {
            let app = build_app(&cfg, system_clock()).await?;
            app.store().close().await;
            println!("migrations applied to {}", redact(&cfg.database_url()));
            for shard in &cfg.database.shards {
                println!(
                    "migrations applied to shard {} ({})",
                    shard.name,
                    redact(&shard.url)
                );
            }
            Ok(())
        }
        Command::Realm(RealmCmd::Move {
            name,
            to,
            max_pause,
        }) => crate::cli_shard::realm_move(&cfg, &name, &to, max_pause).await,
        Command::Realm(cmd) => {
            with_app(&cfg, |app| async move { realm_cmd(&app, cmd).await }).await
        }
        Command::Client(cmd) => {
            with_app(&cfg, |app| async move { client_cmd(&app, cmd).await }).await
        }
        Command::User(cmd) => with_app(&cfg, |app| async move { user_cmd(&app, cmd).await }).await,
        Command::Shard(cmd) => crate::cli_shard::shard_cmd(&cfg, cmd).await,
        Command::Keys(KeysCmd::Rotate { realm, alg }) => {
            with_app(&cfg, |app| async move {
                let admin = app
                    .realm_admin(&cli_principal(), &realm)
                    .await
                    .map_err(app_err)?;
                let alg = realmgate_app::admin::keys::parse_alg(Some(&alg)).map_err(app_err)?;
                admin.rotate_keys(alg).await.map_err(app_err)?;
                println!("rotated {alg} keys of realm {realm}");
                Ok(())
            })
            .await
        }
    }
}

async fn with_app<F, Fut>(cfg: &Config, f: F) -> anyhow::Result<()>
where
    F: FnOnce(App) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let app = build_app(cfg, system_clock()).await?;
    let store = app.store().clone();
    // Make sure `master` exists so the deployment is administrable afterwards.
    if let Bootstrap::Created {
        username,
        generated_password: Some(pw),
    } = app
        .bootstrap(
            &cfg.bootstrap.admin_username,
            cfg.bootstrap.admin_password.clone(),
        )
        .await
        .map_err(app_err)?
    {
        println!("created the master realm; admin user '{username}' with password: {pw}");
    }
    let result = f(app).await;
    store.close().await;
    result
}

async fn realm_cmd(app: &App, cmd: RealmCmd) -> anyhow::Result<()> {
    match cmd {
        RealmCmd::Create {
            name,
            display_name,
            shard,
        } => {
            if let Some(shard) = &shard {
                crate::cli_shard::check_configured(app.store(), shard)?;
            }
            let r = app
                .create_realm_on(
                    RealmInput {
                        name: Some(name),
                        display_name,
                        ..RealmInput::default()
                    },
                    shard.as_deref(),
                )
                .await
                .map_err(app_err)?;
            let (placed, _) = app.store().realm_shard(&r.id).await?;
            println!("created realm {} ({}) on shard {placed}", r.name, r.id);
            println!("issuer: {}", app.issuer_for(r.name.as_str()));
        }
        RealmCmd::List => {
            for r in app.list_realms().await.map_err(app_err)? {
                let (shard, moving_to) = app.store().realm_shard(&r.id).await?;
                let moving = moving_to.map(|m| format!(" (moving to {m})"));
                println!(
                    "{}\t{}\t{}\t{shard}{}",
                    r.name,
                    r.id,
                    if r.enabled { "enabled" } else { "disabled" },
                    moving.unwrap_or_default()
                );
            }
        }
        RealmCmd::Move { .. } => unreachable_move()?,
        RealmCmd::Delete { name } => {
            app.delete_realm(&name).await.map_err(app_err)?;
            println!("deleted realm {name}");
        }
    }
    Ok(())
}

async fn client_cmd(app: &App, cmd: ClientCmd) -> anyhow::Result<()> {
    let ClientCmd::Create {
        realm,
        client_id,
        secret,
        public,
        redirect_uris,
        service_account,
        direct_access,
        consent_required,
    } = cmd;
    let admin = app
        .realm_admin(&cli_principal(), &realm)
        .await
        .map_err(app_err)?;
    let view = admin
        .create_client(ClientInput {
            client_id: Some(client_id.clone()),
            public_client: Some(public),
            secret,
            standard_flow: Some(!redirect_uris.is_empty()),
            redirect_uris: Some(redirect_uris),
            service_accounts: Some(service_account),
            direct_access_grants: Some(direct_access),
            consent_required: Some(consent_required),
            ..ClientInput::default()
        })
        .await
        .map_err(app_err)?;
    println!(
        "created client {client_id} ({}) in realm {realm}",
        view.client.id
    );
    if let Some(s) = view.secret {
        println!("client secret: {s}");
    }
    Ok(())
}

async fn user_cmd(app: &App, cmd: UserCmd) -> anyhow::Result<()> {
    match cmd {
        UserCmd::Create {
            realm,
            username,
            email,
            first_name,
            last_name,
            password,
            password_stdin,
        } => {
            let admin = app
                .realm_admin(&cli_principal(), &realm)
                .await
                .map_err(app_err)?;
            let password = read_password(password, password_stdin)?;
            let user = admin
                .create_user(NewUser {
                    user: UserInput {
                        username: Some(username.clone()),
                        email,
                        first_name,
                        last_name,
                        enabled: Some(true),
                        password: password.map(|value| PasswordInput {
                            value,
                            temporary: false,
                        }),
                        ..UserInput::default()
                    },
                    groups: vec![],
                })
                .await
                .map_err(app_err)?;
            println!(
                "created user {} ({}) in realm {realm}",
                user.username, user.id
            );
        }
        UserCmd::SetPassword {
            realm,
            username,
            password,
            password_stdin,
        } => {
            let admin = app
                .realm_admin(&cli_principal(), &realm)
                .await
                .map_err(app_err)?;
            let password = read_password(password, password_stdin)?
                .context("a password is required (--password or --password-stdin)")?;
            let ctx = app.realm(&realm).await.map_err(app_err)?;
            let user = app
                .store()
                .realm_read(ctx.id())
                .await?
                .user_by_username(&username.to_lowercase())
                .await?
                .with_context(|| format!("no user '{username}' in realm {realm}"))?;
            admin
                .reset_password(
                    &user.id.0,
                    PasswordInput {
                        value: password,
                        temporary: false,
                    },
                )
                .await
                .map_err(app_err)?;
            println!("password set for {username} in realm {realm}");
        }
    }
    Ok(())
}

fn redact(url: &str) -> String {
    crate::config::redact_url(url)
}

/// `realm move` runs on the store alone (see `run`), never through `realm_cmd`.
fn unreachable_move() -> anyhow::Result<()> {
    anyhow::bail!("realm move is handled without the app")
}

async fn serve(mut cfg: Config, args: ServeArgs) -> anyhow::Result<()> {
    if let Some(l) = args.listen {
        cfg.listen = l;
    }
    if let Some(p) = args.public_url {
        cfg.public_url = Some(p);
    }
    let store_desc = if cfg.database.url.is_some() {
        "postgres".to_owned()
    } else {
        format!("embedded ({})", cfg.data_dir.display())
    };
    let (mut server, boot) = Server::start(cfg.clone(), system_clock()).await?;
    let base = server.public_url.clone();
    println!(
        "Realmgate is running on {} (store: {store_desc})",
        server.addr
    );
    println!("  issuer (master realm):  {base}/realms/master");
    println!("  discovery:              {base}/realms/master/.well-known/openid-configuration");
    println!("  admin REST API:         {base}/admin/realms");
    match boot {
        Bootstrap::Created {
            username,
            generated_password,
        } => {
            println!("  bootstrap admin:        user '{username}' in realm 'master'");
            if let Some(pw) = generated_password {
                println!("  generated password:     {pw}   (shown once — store it now)");
            }
        }
        Bootstrap::AlreadyDone => {
            println!("  admin login:            the master realm's admin user")
        }
    }
    println!(
        "  admin token:            curl -d grant_type=password -d client_id=admin-cli -d username=admin -d password=... {base}/realms/master/protocol/openid-connect/token"
    );
    tokio::select! {
        _ = shutdown_signal() => {
            tracing::info!("shutting down");
            server.trigger_shutdown();
            server.wait().await;
        }
        _ = server.wait() => {}
    }
    server.app.store().close().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
