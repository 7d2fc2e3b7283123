//! The `concierge` command: `serve` (default), `migrate`, `create-owner`, `import-users`,
//! `export-users`, `seed-demo`, `backup`, `restore`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use concierge::config::{Config, ConfigArgs};
use concierge::db::Db;
use concierge::startup::Application;

#[derive(Parser)]
#[command(name = "concierge", version, about = "Users, groups and the buildings they may reach.")]
struct Cli {
    #[command(flatten)]
    config: ConfigArgs,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the portal (the default).
    Serve,
    /// Bring the database schema up to date, then exit.
    Migrate,
    /// Print a one-time link at which the owner account is made (while there is no owner).
    CreateOwner,
    /// Write every user as CSV to standard output.
    ExportUsers,
    /// Add the users of a CSV file (the Import CSV columns), all or none, each invited; acts as
    /// the owner. The invitations are delivered by the serving process.
    ImportUsers {
        /// The CSV file: email,first_name,last_name,phone,title,job_function,company,group
        file: std::path::PathBuf,
    },
    /// Write a consistent copy of the SQLite database to FILE, a new file, while the portal runs.
    Backup {
        /// The copy to write.
        file: std::path::PathBuf,
    },
    /// Put the copy FILE in place of the SQLite database (no portal may be running on it),
    /// keeping the database it replaces beside it, and migrate it if it is older.
    Restore {
        /// A copy written by `concierge backup`.
        file: std::path::PathBuf,
    },
    /// Turn off the two-step sign-in of the user with this address (for an owner who lost both
    /// phone and recovery codes); their sessions end and they are told by mail.
    ResetTwoStep {
        /// The user's email address.
        email: String,
    },
    /// Make an API token acting as the owner, and print its secret (for scripts that provision
    /// by SCIM; the API tokens tab does the same in a browser).
    CreateApiToken {
        /// What uses it.
        #[arg(long)]
        name: String,
        /// Space-separated: scim and permission keys.
        #[arg(long, default_value = "scim users.view users.manage")]
        scopes: String,
        /// Days until it stops working (at most 366).
        #[arg(long, default_value_t = 90)]
        days: i64,
        /// Who makes it (it acts as them); the owner when left out.
        #[arg(long)]
        maker: Option<String>,
    },
    /// Fill the database with realistic demo data (for trying and benchmarking).
    SeedDemo {
        /// How many users.
        #[arg(long, default_value_t = 1000)]
        users: u64,
        /// How many buildings (in accounts of 20).
        #[arg(long, default_value_t = 200)]
        buildings: u64,
        /// How many audit events, over the past year.
        #[arg(long, default_value_t = 0)]
        events: u64,
        /// Add more even when demo users exist.
        #[arg(long)]
        force: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    concierge::telemetry::init(cli.config.log_format);
    let config = match cli.config.validate() {
        Ok(config) => config,
        Err(message) => {
            eprintln!("concierge: {message}");
            return ExitCode::from(2);
        }
    };
    let command = cli.command.unwrap_or(Command::Serve);
    // Every command but a restore shares the SQLite file's lock, so that none writes to a file
    // a restore is replacing.
    let _sharing = match &command {
        Command::Restore { .. } => None,
        _ => match concierge::backup::serving(&config.database_url) {
            Ok(lock) => lock,
            Err(e) => {
                eprintln!("concierge: {e:#}");
                return ExitCode::FAILURE;
            }
        },
    };
    let result = match command {
        Command::Serve => serve(config),
        Command::Migrate => migrate(&config),
        Command::CreateOwner => create_owner(&config),
        Command::ExportUsers => export_users(&config),
        Command::ImportUsers { file } => import_users(&config, &file),
        Command::Backup { file } => concierge::backup::backup(&config.database_url, &file).map(|m| println!("{m}")),
        Command::Restore { file } => concierge::backup::restore(&config.database_url, &file).map(|m| println!("{m}")),
        Command::ResetTwoStep { email } => reset_two_step(&config, &email),
        Command::CreateApiToken { name, scopes, days, maker } => {
            create_api_token(&config, name, &scopes, days, maker.as_deref())
        }
        Command::SeedDemo { users, buildings, events, force } => seed_demo(&config, users, buildings, events, force),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("concierge: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn serve(config: Config) -> anyhow::Result<()> {
    actix_web::rt::System::new().block_on(async move {
        let public_url = config.public_url.clone();
        let app = Application::build(config).await?;
        tracing::info!(port = app.port(), "Concierge is listening");
        // The server answers while the link is issued: `/readyz` does not wait on it.
        let db = app.state.db.clone();
        actix_web::rt::spawn(async move {
            let link = actix_web::web::block(move || {
                let mut conn = db.get()?;
                concierge::owner::setup_link(&mut conn, &public_url)
            })
            .await;
            match link {
                Ok(Ok(Some(link))) => {
                    println!("No owner yet. Open this one-time link to create the owner account: {link}")
                }
                Ok(Ok(None)) => {}
                Ok(Err(e)) => tracing::error!(error = ?e, "issuing the owner setup link failed"),
                Err(e) => tracing::error!(error = %e, "issuing the owner setup link failed"),
            }
        });
        app.run_until_stopped().await?;
        Ok(())
    })
}

fn migrate(config: &Config) -> anyhow::Result<()> {
    Db::connect(&config.database_url, 1)?.migrate()?;
    println!("The database is up to date.");
    Ok(())
}

fn create_owner(config: &Config) -> anyhow::Result<()> {
    let db = Db::connect(&config.database_url, 1)?;
    db.migrate()?;
    let mut conn = db.get().map_err(|e| anyhow::anyhow!("{e:?}"))?;
    match concierge::owner::setup_link(&mut conn, &config.public_url).map_err(|e| anyhow::anyhow!("{e:?}"))? {
        Some(link) => println!("Open this one-time link to create the owner account: {link}"),
        None => println!("The owner account exists already; sign in with it."),
    }
    Ok(())
}

fn seed_demo(config: &Config, users: u64, buildings: u64, events: u64, force: bool) -> anyhow::Result<()> {
    let db = Db::connect(&config.database_url, 1)?;
    db.migrate()?;
    let hash = bcrypt::hash(concierge::seed::DEMO_PASSWORD, config.bcrypt_cost)?;
    let mut conn = db.get().map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let seeded = concierge::seed::seed(&mut conn, users, buildings, events, &hash, force)
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    println!(
        "Seeded {} users, {} buildings and {} audit events in {:.1} s. Sign in as {} with the password {}.",
        seeded.users,
        seeded.buildings,
        seeded.events,
        seeded.seconds,
        concierge::seed::DEMO_ADMIN,
        concierge::seed::DEMO_PASSWORD
    );
    Ok(())
}

fn import_users(config: &Config, file: &std::path::Path) -> anyhow::Result<()> {
    let csv = std::fs::read_to_string(file).map_err(|e| anyhow::anyhow!("reading {}: {e}", file.display()))?;
    let db = Db::connect(&config.database_url, 1)?;
    db.migrate()?;
    let mut conn = db.get().map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let owner = concierge::ops::Actor::owner(&mut conn)?;
    // Judged and prepared before the transaction, written inside it (as the Users tab does).
    let outcome = match concierge::ops::import::ready(&mut conn, &owner, &config.public_url, &csv, true) {
        Ok(Ok(ready)) => {
            concierge::db::transaction(&mut conn, |conn| concierge::ops::import::write(conn, &owner, ready)).map(Ok)
        }
        Ok(Err(shown)) => Ok(Err(shown)),
        Err(error) => Err(error),
    };
    match outcome {
        Ok(Ok(count)) => {
            println!("Imported and invited {count} users.");
            Ok(())
        }
        Ok(Err((message, rows))) => {
            if !message.is_empty() {
                eprintln!("{message}");
            }
            for row in rows.iter().filter(|r| !r.problems.is_empty()) {
                eprintln!("line {}: {}", row.line, row.problems.join("; "));
            }
            anyhow::bail!("nothing was imported")
        }
        Err(concierge::error::AppError::Unfit(message)) => anyhow::bail!("{message}"),
        Err(e) => anyhow::bail!("{e:?}"),
    }
}

fn export_users(config: &Config) -> anyhow::Result<()> {
    use std::io::Write;
    let db = Db::connect(&config.database_url, 1)?;
    db.migrate()?;
    let mut conn = db.get().map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut failed = None;
    let written = concierge::export::all_users(&mut conn, |chunk| match out.write_all(&chunk) {
        Ok(()) => true,
        Err(e) => {
            failed = Some(e);
            false
        }
    })
    .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    out.flush()?;
    if let Some(e) = failed {
        anyhow::bail!("writing the CSV failed: {e}");
    }
    eprintln!("Exported {written} users.");
    Ok(())
}

fn create_api_token(config: &Config, name: String, scopes: &str, days: i64, maker: Option<&str>) -> anyhow::Result<()> {
    use concierge::ops::api_tokens::{TokenForm, create};
    let db = Db::connect(&config.database_url, 1)?;
    db.migrate()?;
    let mut conn = db.get().map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let now = concierge::db::now();
    let ends = chrono::Duration::try_days(days).and_then(|d| now.date().checked_add_signed(d));
    let Some(ends) = ends else { anyhow::bail!("--days: {days} is no number of days from today") };
    let form = TokenForm {
        name,
        expires_on: ends.to_string(),
        scopes: scopes.split_whitespace().map(str::to_owned).collect(),
    };
    let made = concierge::db::transaction(&mut conn, |conn| {
        let maker = match maker {
            None => concierge::ops::Actor::owner(conn)?,
            Some(email) => concierge::ops::Actor::by_email(conn, email)?,
        };
        create(conn, &maker, &form, now.date(), now)
    });
    match made {
        Ok(Ok((_, secret))) => {
            println!("{secret}");
            Ok(())
        }
        Ok(Err(errors)) => {
            let why: Vec<String> = errors.iter().map(|(f, m)| format!("{f}: {m}")).collect();
            anyhow::bail!("{}", why.join("; "))
        }
        Err(concierge::error::AppError::Unfit(message)) => anyhow::bail!("{message}"),
        Err(e) => anyhow::bail!("{e:?}"),
    }
}

fn reset_two_step(config: &Config, email: &str) -> anyhow::Result<()> {
    let db = Db::connect(&config.database_url, 1)?;
    db.migrate()?;
    let mut conn = db.get().map_err(|e| anyhow::anyhow!("{e:?}"))?;
    match concierge::db::transaction(&mut conn, |conn| concierge::ops::two_step::reset_by_operator(conn, email)) {
        Ok(user) => {
            println!("Two-step sign-in is off for {}; they were signed out and told by mail.", user.email);
            Ok(())
        }
        Err(concierge::error::AppError::Unfit(message)) => anyhow::bail!("{message}"),
        Err(e) => anyhow::bail!("{e:?}"),
    }
}
