//! The command line of the `yingji` binary.

use std::io::Read;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::app::{Application, shutdown_signal};
use crate::audit::Actor;
use crate::auth::Role;
use crate::config::{LogFormat, MonitorOverrides, Overrides, Settings};
use crate::db::Db;
use crate::registry::import;
use crate::registry::table::Format;

#[derive(Debug, Parser)]
#[command(
    name = "yingji",
    version,
    about = "Yingji (应急): emergency-management platform of the Wuqing District"
)]
pub struct Cli {
    /// TOML settings file (see `yingji print-default-config`).
    #[arg(long, global = true, env = "YINGJI_CONFIG")]
    pub config: Option<PathBuf>,
    /// Log filter, e.g. `info` or `yingji=debug` (overrides the settings).
    #[arg(long, global = true)]
    pub log_level: Option<String>,
    /// Log format.
    #[arg(long, global = true, value_enum)]
    pub log_format: Option<CliLogFormat>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum CliLogFormat {
    Text,
    Json,
}

#[derive(Debug, Args, Default)]
pub struct ServerArgs {
    /// Database URL: sqlite://FILE or postgres://USER@HOST/DB.
    #[arg(long)]
    pub db: Option<String>,
    /// Listen address, e.g. 127.0.0.1:8080.
    #[arg(long)]
    pub bind: Option<String>,
    /// Directory for uploaded files and other runtime data.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// MQTT broker to take readings from, e.g. mqtt://127.0.0.1:1883 (sets monitor.mqtt_url).
    #[arg(long, value_name = "URL")]
    pub mqtt: Option<String>,
}

impl ServerArgs {
    fn overrides(&self) -> Overrides {
        Overrides {
            db: self.db.clone(),
            bind: self.bind.clone(),
            data_dir: self.data_dir.clone(),
            monitor: self.mqtt.clone().map(|url| MonitorOverrides {
                mqtt_url: Some(url),
            }),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the platform.
    Serve(ServerArgs),
    /// Create (or reuse) a demo database with the demo district and its accounts, and serve it.
    Demo {
        #[command(flatten)]
        server: ServerArgs,
        /// Password of every demo account.
        #[arg(long, default_value = DEFAULT_DEMO_PASSWORD)]
        password: String,
        /// Do not feed the demo's sensors with simulated readings (same as demo.simulate = false).
        #[arg(long)]
        no_simulate: bool,
    },
    /// A simulated gateway: posts readings of the sensors of each token's enterprise to a
    /// Yingji server, as a real gateway would.
    Simulate(SimulateCli),
    /// Ingest tokens of enterprise gateways.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Manage user accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Import enterprises or facilities from CSV (UTF-8 or GBK) or XLSX.
    Import {
        kind: RecordKind,
        file: PathBuf,
        /// Write the valid rows and report the others instead of writing nothing.
        #[arg(long)]
        skip_invalid: bool,
        #[arg(long)]
        db: Option<String>,
    },
    /// Export enterprises or facilities as CSV (UTF-8 with BOM) or XLSX.
    Export {
        kind: RecordKind,
        #[arg(long, value_enum, default_value = "csv")]
        format: ExportFormat,
        /// Output file (default: standard output).
        #[arg(long, short)]
        output: Option<PathBuf>,
        #[arg(long)]
        db: Option<String>,
    },
    /// The standards calculators on the command line (same JSON as the API).
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Benchmarks shipped with the project (figures measured on this machine).
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Print a commented settings file with the defaults.
    PrintDefaultConfig,
}

#[derive(Debug, Args)]
pub struct SimulateCli {
    /// Base URL of the Yingji server.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// Ingest token of an enterprise (`yjg_…`, from `yingji token create` or the API); repeat
    /// it to simulate several enterprises.
    #[arg(
        long = "token",
        required = true,
        env = "YINGJI_INGEST_TOKEN",
        value_delimiter = ','
    )]
    pub tokens: Vec<String>,
    /// Seconds between two rounds of readings.
    #[arg(long, default_value_t = 10.0)]
    pub interval_s: f64,
    /// Simulated seconds per second: 60 shows an hour of tank filling in a minute. Readings
    /// keep the real time (the server refuses readings from the future).
    #[arg(long, default_value_t = 1.0)]
    pub speed: f64,
    /// Stop after this many seconds (default: run until Ctrl-C).
    #[arg(long)]
    pub duration_s: Option<f64>,
    /// Seed of the simulation; the demo's seed by default, so readings agree with the demo's own.
    #[arg(long, default_value_t = crate::demo::DEMO_SEED)]
    pub seed: u64,
    /// Threshold excursions (H, sometimes HH) per hour, over all simulated sensors.
    #[arg(long, default_value_t = 1.0)]
    pub excursions_per_hour: f64,
    /// Sensor faults (out-of-range values) per hour, over all simulated sensors.
    #[arg(long, default_value_t = 0.2)]
    pub faults_per_hour: f64,
    /// Simulated outages (a few minutes without readings) per gateway and day.
    #[arg(long, default_value_t = 0.5)]
    pub outages_per_day: f64,
    /// Print only the totals at the end, not a line per round.
    #[arg(long)]
    pub quiet: bool,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Issue an ingest token for an enterprise's gateway and print it; it is shown only now.
    Create {
        /// Enterprise id or credit code.
        #[arg(long)]
        enterprise: String,
        /// A label, e.g. the gateway's name.
        #[arg(long, default_value = "")]
        name: String,
        #[arg(long)]
        db: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Sensor ingest: HTTP batches into the embedded store, against plain-table appends, and
    /// the 30-day history query. The last line printed is a JSON object of the results.
    Ingest {
        /// 5 million readings instead of 20 million.
        #[arg(long)]
        quick: bool,
        /// Override the number of readings.
        #[arg(long)]
        readings: Option<u64>,
        /// Concurrent HTTP clients.
        #[arg(long, default_value_t = 8)]
        clients: usize,
        /// Keep the databases in this directory (default: a temporary one, removed after).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Also measure on this PostgreSQL (postgres://…): the HTTP ingest with the store on
        /// it, and binary COPY into a plain table, each in a fresh schema dropped afterwards.
        #[arg(long, value_name = "URL")]
        pg: Option<String>,
    },
    /// Warning dissemination: one warning to N webhook subscribers through the delivery queue
    /// and the dispatcher, against a local HTTP sink. Prints one JSON line.
    Dissemination {
        #[arg(long, default_value_t = 100_000)]
        recipients: u64,
        /// Database to use (default: a fresh temporary SQLite file, removed after).
        #[arg(long)]
        db: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// GB 18218-2018 identification and grading of a unit: FILE.json (`-` for standard input)
    /// holds `{"exposed_population": N, "substances": [...]}`; the result is printed as JSON.
    Gb18218 { file: PathBuf },
    /// LEC risk grading (D = L × E × C) with the colour bands of the settings; prints JSON.
    Lec {
        #[arg(allow_negative_numbers = true)]
        l: f64,
        #[arg(allow_negative_numbers = true)]
        e: f64,
        #[arg(allow_negative_numbers = true)]
        c: f64,
    },
    /// LS matrix risk grading (R = L × S, each 1–5) with the colour bands of the settings.
    Ls {
        #[arg(allow_negative_numbers = true)]
        l: f64,
        #[arg(allow_negative_numbers = true)]
        s: f64,
    },
}

pub const DEFAULT_DEMO_PASSWORD: &str = "yingji-demo";
const DEFAULT_DEMO_DB: &str = "sqlite://yingji-demo.db";

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RecordKind {
    Enterprises,
    Facilities,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    Csv,
    Xlsx,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user. The password is read from --password or from the first line of standard input.
    Add {
        username: String,
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// Township code, for role town.
        #[arg(long)]
        town: Option<String>,
        /// Enterprise id or credit code, for role enterprise.
        #[arg(long)]
        enterprise: Option<String>,
        #[arg(long, default_value = "")]
        display_name: String,
        #[arg(long)]
        password: Option<String>,
        #[arg(long)]
        db: Option<String>,
    },
    /// Set a user's password (read from --password or standard input); also unlocks the account.
    Passwd {
        username: String,
        #[arg(long)]
        password: Option<String>,
        #[arg(long)]
        db: Option<String>,
    },
    /// List users.
    List {
        #[arg(long)]
        db: Option<String>,
    },
    /// Disable a user (ends their sessions), or enable them again with --enable.
    Disable {
        username: String,
        #[arg(long)]
        enable: bool,
        #[arg(long)]
        db: Option<String>,
    },
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s).ok_or_else(|| {
        format!("unknown role {s}: one of admin, duty, supervisor, leader, town, enterprise")
    })
}

fn init_logging(settings: &Settings) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_new(&settings.log.level).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match settings.log.format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

fn load(cli: &Cli, overrides: Overrides) -> anyhow::Result<Settings> {
    let mut s = Settings::load(cli.config.as_deref(), &overrides)?;
    if let Some(l) = &cli.log_level {
        s.log.level = l.clone();
    }
    if let Some(f) = cli.log_format {
        s.log.format = match f {
            CliLogFormat::Text => LogFormat::Text,
            CliLogFormat::Json => LogFormat::Json,
        };
    }
    init_logging(&s);
    Ok(s)
}

fn db_only(db: &Option<String>) -> Overrides {
    Overrides {
        db: db.clone(),
        ..Default::default()
    }
}

fn read_password(given: &Option<String>) -> anyhow::Result<String> {
    if let Some(p) = given {
        return Ok(p.clone());
    }
    let mut s = String::new();
    std::io::stdin()
        .read_to_string(&mut s)
        .context("reading the password from standard input")?;
    let line = s.lines().next().unwrap_or_default().to_string();
    if line.is_empty() {
        bail!("no password given: use --password or pipe it on standard input");
    }
    Ok(line)
}

fn api_err(e: crate::error::ApiError) -> anyhow::Error {
    match e.body().error.field {
        Some(f) => anyhow::anyhow!("{f}: {e}"),
        None => anyhow::anyhow!("{e}"),
    }
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match &cli.command {
        Command::PrintDefaultConfig => {
            print!("{}", crate::config::default_config_toml());
            Ok(())
        }
        Command::Serve(args) => {
            let settings = load(&cli, args.overrides())?;
            serve(settings).await
        }
        Command::Demo {
            server,
            password,
            no_simulate,
        } => {
            let mut overrides = server.overrides();
            if overrides.db.is_none() && std::env::var("YINGJI_DB").is_err() && cli.config.is_none()
            {
                overrides.db = Some(DEFAULT_DEMO_DB.into());
            }
            let mut settings = load(&cli, overrides)?;
            if *no_simulate {
                settings.demo.simulate = false;
            }
            demo(settings, password).await
        }
        Command::Simulate(args) => {
            let mut s = Settings::default();
            s.log.level = cli.log_level.clone().unwrap_or_else(|| "warn".into());
            init_logging(&s);
            simulate(args).await
        }
        Command::Token(TokenCommand::Create {
            enterprise,
            name,
            db,
        }) => {
            let settings = load(&cli, db_only(db))?;
            let db = Db::connect(&settings.db).await?;
            let result = create_token(&db, enterprise, name).await;
            db.close().await;
            let (token, enterprise_name) = result?;
            eprintln!("Ingest token of {enterprise_name} (shown only now):");
            println!("{token}");
            Ok(())
        }
        Command::User(cmd) => user(&cli, cmd).await,
        Command::Bench(BenchCommand::Ingest {
            quick,
            readings,
            clients,
            dir,
            pg,
        }) => {
            let mut s = Settings::default();
            s.log.level = cli.log_level.clone().unwrap_or_else(|| "warn".into());
            init_logging(&s);
            let mut args = if *quick {
                crate::bench::IngestBenchArgs::quick()
            } else {
                crate::bench::IngestBenchArgs::full()
            };
            if let Some(n) = readings {
                args.readings = *n;
                args.table_rows = *n;
            }
            args.clients = (*clients).max(1);
            args.dir = dir.clone();
            args.pg = pg.clone();
            crate::bench::ingest(args).await
        }
        Command::Bench(BenchCommand::Dissemination { recipients, db }) => {
            let mut s = Settings::default();
            s.log.level = cli.log_level.clone().unwrap_or_else(|| "warn".into());
            init_logging(&s);
            crate::warning::dispatch::bench::run(
                crate::warning::dispatch::bench::DisseminationBenchArgs {
                    recipients: (*recipients).max(1),
                    db: db.clone(),
                },
            )
            .await
        }
        Command::Rules(RulesCommand::Gb18218 { file }) => {
            let text = if file.as_os_str() == "-" {
                let mut s = String::new();
                std::io::stdin()
                    .read_to_string(&mut s)
                    .context("reading standard input")?;
                s
            } else {
                std::fs::read_to_string(file)
                    .with_context(|| format!("reading {}", file.display()))?
            };
            let input: crate::hazard::gb18218::Gb18218Input =
                serde_json::from_str(&text).context("the input is not a valid GB 18218 request")?;
            let result = crate::hazard::gb18218::evaluate(&input)
                .map_err(|e| anyhow::anyhow!("{}: {e}", e.field()))?;
            println!("{}", serde_json::to_string_pretty(&result)?);
            Ok(())
        }
        Command::Rules(RulesCommand::Lec { l, e, c }) => {
            let bands = load(&cli, Overrides::default())?.dualprev.bands();
            let r = crate::dualprev::rules::lec(*l, *e, *c, &bands)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{}", serde_json::to_string_pretty(&r)?);
            Ok(())
        }
        Command::Rules(RulesCommand::Ls { l, s }) => {
            let bands = load(&cli, Overrides::default())?.dualprev.bands();
            let r =
                crate::dualprev::rules::ls(*l, *s, &bands).map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{}", serde_json::to_string_pretty(&r)?);
            Ok(())
        }
        Command::Import {
            kind,
            file,
            skip_invalid,
            db,
        } => {
            let settings = load(&cli, db_only(db))?;
            let db = Db::connect(&settings.db).await?;
            let bytes =
                std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
            let name = file.file_name().map(|n| n.to_string_lossy().to_string());
            let actor = Actor::system("cli");
            let scope = crate::auth::Scope::District;
            let result = match kind {
                RecordKind::Enterprises => {
                    import::import_enterprises(
                        &db,
                        &actor,
                        &scope,
                        name.as_deref(),
                        &bytes,
                        *skip_invalid,
                    )
                    .await
                }
                RecordKind::Facilities => {
                    import::import_facilities(
                        &db,
                        &actor,
                        &scope,
                        name.as_deref(),
                        &bytes,
                        *skip_invalid,
                    )
                    .await
                }
            };
            db.close().await;
            match result {
                Ok(r) => {
                    println!(
                        "{} rows: {} inserted, {} updated, {} rejected",
                        r.total_rows,
                        r.inserted,
                        r.updated,
                        r.rejected.len()
                    );
                    for e in &r.rejected {
                        println!(
                            "  line {}: {}: {}",
                            e.line,
                            e.field.as_deref().unwrap_or("-"),
                            e.message
                        );
                    }
                    Ok(())
                }
                Err(import::ImportError::InvalidRows(r)) => {
                    eprintln!(
                        "{} of {} rows are invalid; nothing was written:",
                        r.rejected.len(),
                        r.total_rows
                    );
                    for e in &r.rejected {
                        eprintln!(
                            "  line {}: {}: {}",
                            e.line,
                            e.field.as_deref().unwrap_or("-"),
                            e.message
                        );
                    }
                    bail!("import refused")
                }
                Err(e) => Err(e.into()),
            }
        }
        Command::Export {
            kind,
            format,
            output,
            db,
        } => {
            let settings = load(&cli, db_only(db))?;
            let db = Db::connect(&settings.db).await?;
            let format = match format {
                ExportFormat::Csv => Format::Csv,
                ExportFormat::Xlsx => Format::Xlsx,
            };
            let scope = crate::auth::Scope::District;
            let file = match kind {
                RecordKind::Enterprises => {
                    import::export_enterprises(&db, &scope, &Default::default(), format).await?
                }
                RecordKind::Facilities => {
                    import::export_facilities(&db, &scope, &Default::default(), format).await?
                }
            };
            db.close().await;
            match output {
                Some(path) => std::fs::write(path, &file.bytes)
                    .with_context(|| format!("writing {}", path.display()))?,
                None => {
                    use std::io::Write;
                    std::io::stdout().write_all(&file.bytes)?;
                }
            }
            Ok(())
        }
    }
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    std::fs::create_dir_all(&settings.data_dir)
        .with_context(|| format!("creating {}", settings.data_dir.display()))?;
    tracing::info!(db = %crate::config::redact_url(&settings.db), bind = %settings.bind, "starting");
    // Before the port answers: see `shutdown_signal`.
    let signal = shutdown_signal();
    let app = Application::build(settings).await?;
    tracing::info!("listening on http://{}", app.local_addr()?);
    app.run_until_stopped(signal).await
}

/// Issues an ingest token from the command line, audited like one issued over the API.
async fn create_token(db: &Db, enterprise: &str, name: &str) -> anyhow::Result<(String, String)> {
    let id = resolve_enterprise(db, enterprise).await?;
    let e = crate::registry::store::get_enterprise(db, &id)
        .await?
        .with_context(|| format!("no enterprise {enterprise}"))?;
    let mut tx = db.begin().await?;
    let (token, hash) = crate::monitor::sensors::create_token(&mut tx, &id, name.trim()).await?;
    crate::audit::record(
        &mut tx,
        &Actor::system("cli"),
        "ingest_token",
        &hash[..12],
        "create",
        None,
        Some(&serde_json::json!({"enterprise_id": id, "name": name.trim()})),
    )
    .await?;
    tx.commit().await?;
    Ok((token, e.name))
}

async fn simulate(args: &SimulateCli) -> anyhow::Result<()> {
    let positive = |v: f64, flag: &str| {
        if v.is_finite() && v > 0.0 {
            Ok(std::time::Duration::from_secs_f64(v))
        } else {
            Err(anyhow::anyhow!(
                "{flag} must be a positive number of seconds"
            ))
        }
    };
    let run_args = crate::monitor::sim_gateway::SimulateArgs {
        url: args.url.clone(),
        tokens: args.tokens.clone(),
        interval: positive(args.interval_s, "--interval-s")?,
        speed: args.speed,
        duration: args
            .duration_s
            .map(|d| positive(d, "--duration-s"))
            .transpose()?,
        sim: crate::monitor::simulate::SimConfig {
            seed: args.seed,
            excursions_per_hour: args.excursions_per_hour,
            faults_per_hour: args.faults_per_hour,
            outages_per_gateway_day: args.outages_per_day,
            ..Default::default()
        },
    };
    let quiet = args.quiet;
    let report = crate::monitor::sim_gateway::run(run_args, shutdown_signal(), |round| {
        if quiet {
            return;
        }
        let sent: usize = round.gateways.iter().map(|g| g.sent).sum();
        let accepted: usize = round.gateways.iter().map(|g| g.accepted).sum();
        let rejected: usize = round.gateways.iter().map(|g| g.rejected).sum();
        let out_of_range: usize = round.gateways.iter().map(|g| g.out_of_range).sum();
        let mut line = format!(
            "[{:>6.0} s] {} gateway(s): {sent} readings sent, {accepted} accepted, {rejected} rejected, {out_of_range} out of range",
            round.elapsed.as_secs_f64(),
            round.gateways.len()
        );
        for g in &round.gateways {
            if g.offline {
                line.push_str(&format!("; {} offline (simulated outage)", g.enterprise_name));
            }
            if let Some(e) = &g.failed {
                line.push_str(&format!("; {} not delivered, kept for the next round: {e}", g.enterprise_name));
            }
            if let Some(r) = &g.first_rejection {
                line.push_str(&format!("; {} rejected items, e.g. {r}", g.enterprise_name));
            }
        }
        println!("{line}");
    })
    .await?;
    println!(
        "{} rounds: {} readings sent, {} accepted, {} rejected, {} out of range, {} failed posts",
        report.rounds,
        report.sent,
        report.accepted,
        report.rejected,
        report.out_of_range,
        report.failed_posts
    );
    Ok(())
}

async fn demo(settings: Settings, password: &str) -> anyhow::Result<()> {
    crate::auth::password::check_strength(password)
        .map_err(|e| anyhow::anyhow!("--password: {e}"))?;
    std::fs::create_dir_all(&settings.data_dir)
        .with_context(|| format!("creating {}", settings.data_dir.display()))?;
    let db = Db::connect(&settings.db).await?;
    let report = crate::demo::seed_if_empty(&db).await?;
    if report.seeded {
        println!(
            "Seeded the demo district: {} administrative units, {} enterprises, {} facilities, {} hazard-source units, {} sensors.",
            report.units,
            report.enterprises,
            report.facilities,
            report.hazard_units,
            report.sensors
        );
    } else {
        println!(
            "Reusing the existing database {}.",
            crate::config::redact_url(&settings.db)
        );
        if report.sensors > 0 {
            println!("Added {} demo sensors to it.", report.sensors);
        }
    }
    let dp = report.dualprev;
    if dp.risk_points > 0 {
        println!(
            "Dual prevention: {} risk points with {} check tasks ({} checks done), {} hidden dangers over the last year, {} daily safety commitments.",
            dp.risk_points, dp.check_tasks, dp.check_records, dp.hidden_dangers, dp.commitments
        );
    }
    let accounts = crate::demo::ensure_demo_accounts(&db, password).await?;
    if crate::demo::is_demo_store(&db).await? {
        let w = crate::demo::seed_warnings::seed(
            &db,
            &settings.warning,
            crate::demo::DEMO_SEED,
            crate::db::now_ms(),
        )
        .await?;
        if w.warnings > 0 {
            println!(
                "Early warning: {} warnings (past and in force, one imported CAP), {} public subscribers, {} town relays, {} deliveries.",
                w.warnings, w.subscribers, w.relays, w.deliveries
            );
        }
    }
    let gateway = crate::demo::demo_gateway_token(&db).await?;
    let demo_settings = settings.demo.clone();
    let demo_store = crate::demo::is_demo_store(&db).await?;
    let live = if demo_settings.simulate && demo_store {
        Some(crate::demo::live::LiveDemo::load(&db, crate::demo::DEMO_SEED).await?)
    } else {
        None
    };
    // Before the port answers: see `shutdown_signal`.
    let signal = shutdown_signal();
    let app = Application::build_with_db(settings, db).await?;
    let addr = app.local_addr()?;
    println!();
    println!("Yingji demo: http://{addr}/   (API docs: http://{addr}/api/docs)");
    println!("Demo accounts, all with the password {password:?}:");
    for a in &accounts {
        let note = if a.note.is_empty() {
            String::new()
        } else {
            format!(" — {}", a.note)
        };
        println!(
            "  {:<11} {} / {}{}",
            a.username,
            a.role.zh(),
            a.role.en(),
            note
        );
    }
    match &live {
        Some(live) => println!(
            "Live: simulated readings of {} sensors of {} enterprises every {} s; the last {} h of history \
             (a reading every {} s) are filled in the background. --no-simulate turns this off.",
            live.sensor_count(),
            live.sim.gateways().len(),
            demo_settings.interval_s,
            demo_settings.history_hours,
            demo_settings.history_step_s
        ),
        None if !demo_store => println!(
            "No simulated readings: this database was not seeded by the demo, and its sensors may be real."
        ),
        None => println!("No simulated readings (demo.simulate = false or --no-simulate)."),
    }
    if let Some((name, token)) = gateway {
        println!("A gateway of your own: the ingest token of {name}, new at each start:");
        println!("  yingji simulate --url http://{addr} --token {token}");
    }
    println!("Press Ctrl-C to stop.");
    let handle = live.map(|live| {
        crate::demo::live::spawn(
            app.monitor(),
            live,
            crate::demo::live::LiveSettings {
                interval: std::time::Duration::from_secs(demo_settings.interval_s),
                history: std::time::Duration::from_secs(demo_settings.history_hours * 3600),
                history_step: std::time::Duration::from_secs(demo_settings.history_step_s),
            },
        )
    });
    // The simulator stops before the server does, so no reading is stored into a closing store.
    let shutdown = async move {
        signal.await;
        if let Some(h) = handle {
            h.stop().await;
        }
    };
    app.run_until_stopped(shutdown).await
}

async fn user(cli: &Cli, cmd: &UserCommand) -> anyhow::Result<()> {
    let db_arg = match cmd {
        UserCommand::Add { db, .. }
        | UserCommand::Passwd { db, .. }
        | UserCommand::List { db }
        | UserCommand::Disable { db, .. } => db,
    };
    let settings = load(cli, db_only(db_arg))?;
    let db = Db::connect(&settings.db).await?;
    let actor = Actor::system("cli");
    let result = async {
        match cmd {
            UserCommand::Add {
                username,
                role,
                town,
                enterprise,
                display_name,
                password,
                ..
            } => {
                let enterprise_id = match enterprise {
                    Some(e) => Some(resolve_enterprise(&db, e).await?),
                    None => None,
                };
                let req = crate::auth::routes::CreateUser {
                    username: username.clone(),
                    display_name: display_name.clone(),
                    password: read_password(password)?,
                    role: *role,
                    town_code: town.clone(),
                    enterprise_id,
                };
                let u = crate::auth::routes::create_user(&db, &actor, req)
                    .await
                    .map_err(api_err)?;
                println!("added {} ({})", u.username, u.role.key());
            }
            UserCommand::Passwd {
                username, password, ..
            } => {
                let u = crate::auth::store::get_user_by_name(&db, username)
                    .await?
                    .with_context(|| format!("no user {username}"))?;
                let patch = crate::auth::routes::PatchUser {
                    password: Some(read_password(password)?),
                    ..Default::default()
                };
                crate::auth::routes::patch_user(&db, &actor, &u.id, patch)
                    .await
                    .map_err(api_err)?;
                println!("password of {username} changed");
            }
            UserCommand::List { .. } => {
                let (users, _) = crate::auth::store::list_users(&db, 100_000, 0).await?;
                println!("{:<20} {:<11} {:<9} SCOPE", "USERNAME", "ROLE", "STATE");
                for u in users {
                    println!(
                        "{:<20} {:<11} {:<9} {}",
                        u.username,
                        u.role.key(),
                        if u.disabled { "disabled" } else { "active" },
                        u.scope_name.unwrap_or_default()
                    );
                }
            }
            UserCommand::Disable {
                username, enable, ..
            } => {
                let u = crate::auth::store::get_user_by_name(&db, username)
                    .await?
                    .with_context(|| format!("no user {username}"))?;
                let patch = crate::auth::routes::PatchUser {
                    disabled: Some(!enable),
                    ..Default::default()
                };
                crate::auth::routes::patch_user(&db, &actor, &u.id, patch)
                    .await
                    .map_err(api_err)?;
                println!(
                    "{username} {}",
                    if *enable { "enabled" } else { "disabled" }
                );
            }
        }
        anyhow::Ok(())
    }
    .await;
    db.close().await;
    result
}

/// An enterprise named by id or by credit code.
async fn resolve_enterprise(db: &Db, key: &str) -> anyhow::Result<String> {
    let row: Option<(String,)> = db
        .fetch_optional(
            &crate::db::Sql::new("SELECT id FROM enterprises WHERE id = $1 OR credit_code = $2")
                .bind(key)
                .bind(key.to_uppercase()),
        )
        .await?;
    row.map(|r| r.0)
        .with_context(|| format!("no enterprise with id or credit code {key}"))
}
