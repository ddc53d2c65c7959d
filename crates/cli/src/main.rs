//! `bfctl`: drives the Balance Forward gateway's HTTP API for scripts and
//! ops. This file holds the command line and the exit-code policy; each
//! subcommand lives in its own module.

mod api;
mod claims;
mod client;
mod dead_letters;
mod decisions;
mod error;
mod imports;
mod mapping;
mod patients;
mod profiles;
mod progress;
mod read_options;
mod render;
mod report;
mod settings;
mod table;
mod token;
mod upload;
mod wait;
mod watch;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::client::Client;
use crate::decisions::{AcceptFlagged, Decisions, Existing};
use crate::read_options::{Reading, Upload};
use crate::render::emit;

/// Where a developer's local gateway listens.
const DEFAULT_URL: &str = "http://127.0.0.1:8080";

/// How a command that ran to completion ended, so `main` can choose the
/// exit code without commands calling `process::exit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Exit 0.
    Done,
    /// The import ended `failed`: exit 3, distinct from bfctl's own errors
    /// (exit 1), so scripts can tell a bad file from a broken setup.
    ImportFailed,
}

/// Exit code for an import that ended `failed`.
const EXIT_IMPORT_FAILED: u8 = 3;

#[derive(Parser)]
#[command(
    name = "bfctl",
    version,
    about = "Drive the Balance Forward gateway's HTTP API"
)]
struct Cli {
    /// Gateway base URL.
    #[arg(long, global = true, env = "BF_URL", default_value = DEFAULT_URL)]
    url: String,

    /// Bearer token (mint a local one with `bfctl token`).
    #[arg(long, global = true, env = "BF_TOKEN", hide_env_values = true)]
    token: Option<String>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Mint an HS256 bearer token (no network).
    Token {
        /// Tenant (practice) id.
        #[arg(long)]
        tenant: String,
        /// User id.
        #[arg(long)]
        user: String,
        /// Comma-separated roles, e.g. imports:write,imports:approve,patients:write (or ops for `watch`).
        #[arg(long, value_delimiter = ',', required = true, num_args = 1..)]
        roles: Vec<String>,
        /// Lifetime in hours.
        #[arg(long, default_value_t = 12, value_parser = clap::value_parser!(u64).range(1..=8760))]
        ttl_hours: u64,
        /// Signing secret [default: the development secret].
        #[arg(long, env = "BF_JWT_SECRET", hide_env_values = true)]
        secret: Option<String>,
        /// The token's issuer (`iss`); must match the gateway's BF_JWT_ISSUER.
        #[arg(long, env = "BF_JWT_ISSUER", default_value = bf_auth::LOCAL_ISSUER)]
        issuer: String,
        /// The token's audience (`aud`); must match the gateway's BF_JWT_AUDIENCE.
        #[arg(long, env = "BF_JWT_AUDIENCE", default_value = bf_auth::LOCAL_AUDIENCE)]
        audience: String,
    },

    /// Manage the patient directory.
    Patients {
        #[command(subcommand)]
        action: PatientsCommand,
    },

    /// Upload a patient-balances file (CSV, TSV or .xlsx); prints the import id.
    Import {
        /// The balance file.
        file: PathBuf,
        #[command(flatten)]
        options: Upload,
        /// Wait until it is validated, then print the summary.
        #[arg(long)]
        wait: bool,
        /// Print the gateway's JSON instead.
        #[arg(long)]
        json: bool,
    },

    /// Show one import.
    Status {
        /// Import id.
        id: String,
        /// Show only how each file header was read, one per line.
        #[arg(long, conflicts_with = "json")]
        mapping: bool,
        /// Print the gateway's JSON instead.
        #[arg(long)]
        json: bool,
    },

    /// List imports, newest first.
    List {
        /// Print the gateway's JSON instead.
        #[arg(long)]
        json: bool,
    },

    /// List an import's rows of one status, with their problems.
    Rows {
        /// Import id.
        id: String,
        /// Row status: valid, flagged, invalid or skipped [default: all rows].
        #[arg(long)]
        status: Option<String>,
        /// Rows per page.
        #[arg(long)]
        limit: Option<u32>,
        /// Start after this line number.
        #[arg(long)]
        after: Option<u64>,
        /// Fetch every page.
        #[arg(long)]
        all: bool,
        /// Print JSON instead.
        #[arg(long)]
        json: bool,
    },

    /// Approve (save) an import, creating its claims.
    Approve {
        /// Import id.
        id: String,
        #[command(flatten)]
        decisions: DecisionArgs,
        /// Wait until claims are created, then print the summary.
        #[arg(long)]
        wait: bool,
        /// Print the gateway's JSON instead.
        #[arg(long)]
        json: bool,
    },

    /// Show what saving an import would post, before and after decisions.
    Preview {
        /// Import id.
        id: String,
        #[command(flatten)]
        decisions: DecisionArgs,
        /// Print the gateway's JSON instead.
        #[arg(long)]
        json: bool,
    },

    /// Download an import's error report (invalid and flagged rows) as CSV.
    Errors {
        /// Import id.
        id: String,
        /// Write the report here instead of stdout ("-" is stdout).
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },

    /// Manage saved import profiles (how to read an export).
    Profiles {
        #[command(subcommand)]
        action: ProfilesCommand,
    },

    /// Void an import and its claims.
    Void {
        /// Import id.
        id: String,
        /// Print the gateway's JSON instead.
        #[arg(long)]
        json: bool,
    },

    /// Show a patient's Balance Forward claims.
    Claims {
        /// Patient id.
        patient_id: String,
        /// Print the gateway's JSON instead.
        #[arg(long)]
        json: bool,
    },

    /// Show the tenant's settings, or change them.
    Settings {
        /// New IANA time zone, e.g. America/Chicago.
        #[arg(long)]
        time_zone: Option<String>,
        /// Flag balances above this amount for review, e.g. 100000.00.
        #[arg(long, value_name = "DEC")]
        balance_ceiling: Option<String>,
        /// Print the gateway's JSON instead.
        #[arg(long)]
        json: bool,
    },

    /// List the work the broker gave up on (needs role ops), or requeue it.
    DeadLetters {
        #[command(subcommand)]
        action: Option<DeadLettersCommand>,
        /// Print the gateway's JSON instead.
        #[arg(long)]
        json: bool,
    },

    /// Watch running and recent imports of every tenant (needs role ops).
    ///
    /// On a terminal the view is redrawn in place until Ctrl-C; otherwise,
    /// or with --once, one snapshot is printed.
    Watch {
        /// Seconds between refreshes.
        #[arg(long, value_name = "SECS", default_value = "2", value_parser = watch::parse_interval)]
        interval: std::time::Duration,
        /// Print one snapshot and exit.
        #[arg(long)]
        once: bool,
        /// Print the gateway's JSON once and exit.
        #[arg(long)]
        json: bool,
    },
}

/// Save's decisions, shared by `approve` and `preview` so a preview can be
/// repeated as an approve by changing only the verb.
#[derive(clap::Args)]
struct DecisionArgs {
    /// Flagged rows to post: all, none, or line numbers such as 3,9 [default: none].
    #[arg(long, value_name = "all|none|LINES")]
    accept_flagged: Option<AcceptFlagged>,
    /// For patients who already have a Balance Forward [default: skip].
    #[arg(long, value_enum)]
    existing: Option<Existing>,
}

impl From<DecisionArgs> for Decisions {
    fn from(a: DecisionArgs) -> Self {
        Decisions {
            accept_flagged: a.accept_flagged,
            existing: a.existing,
        }
    }
}

#[derive(Subcommand)]
enum ProfilesCommand {
    /// List the tenant's import profiles.
    List {
        /// Print the gateway's JSON instead.
        #[arg(long)]
        json: bool,
    },
    /// Save (create or replace) a profile; choices not given are cleared.
    Save {
        /// Profile name.
        name: String,
        #[command(flatten)]
        reading: Reading,
        /// Print the gateway's JSON instead.
        #[arg(long)]
        json: bool,
    },
    /// Delete a profile.
    Delete {
        /// Profile name.
        name: String,
    },
}

#[derive(Subcommand)]
enum DeadLettersCommand {
    /// Put dead letters back on their work queues once their cause is
    /// fixed; each import resumes from the state it failed in.
    Requeue {
        /// Only this import's dead letters.
        #[arg(
            long = "import",
            value_name = "ID",
            conflicts_with = "all",
            required_unless_present = "all"
        )]
        import: Option<String>,
        /// Every dead letter.
        #[arg(long)]
        all: bool,
        /// Print the gateway's JSON instead.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum PatientsCommand {
    /// Upsert patients from a JSON array or CSV file.
    Load {
        /// JSON (array of objects) or CSV file.
        file: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(Outcome::Done) => ExitCode::SUCCESS,
        Ok(Outcome::ImportFailed) => ExitCode::from(EXIT_IMPORT_FAILED),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<Outcome> {
    if let Command::Token {
        tenant,
        user,
        roles,
        ttl_hours,
        secret,
        issuer,
        audience,
    } = cli.command
    {
        let jwt = token::mint(&token::Request {
            tenant,
            user,
            roles,
            ttl_hours,
            secret,
            party: bf_auth::Party { issuer, audience },
        })?;
        emit(&jwt)?;
        return Ok(Outcome::Done);
    }

    let client = Client::new(&cli.url, cli.token.as_deref())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let outcome = runtime.block_on(dispatch(&client, cli.command))?;
    Ok(outcome)
}

async fn dispatch(client: &Client, command: Command) -> Result<Outcome, error::CliError> {
    match command {
        // Handled in `run` before a client is built; it needs no token.
        Command::Token { .. } => Ok(Outcome::Done),
        Command::Patients {
            action: PatientsCommand::Load { file },
        } => {
            let n = patients::load(client, &file).await?;
            emit(&format!("Loaded {n} patients"))?;
            Ok(Outcome::Done)
        }
        Command::Import {
            file,
            options,
            wait,
            json,
        } => imports::import(client, &file, &options, wait, json).await,
        Command::Status { id, mapping, json } => imports::status(client, &id, mapping, json).await,
        Command::List { json } => imports::list(client, json).await,
        Command::Rows {
            id,
            status,
            limit,
            after,
            all,
            json,
        } => {
            imports::rows(
                client,
                imports::RowsQuery {
                    id: &id,
                    status: status.as_deref(),
                    limit,
                    after,
                    all,
                    json,
                },
            )
            .await
        }
        Command::Approve {
            id,
            decisions,
            wait,
            json,
        } => imports::approve(client, &id, &decisions.into(), wait, json).await,
        Command::Preview {
            id,
            decisions,
            json,
        } => decisions::preview(client, &id, &decisions.into(), json).await,
        Command::Errors { id, output } => report::errors(client, &id, output.as_deref()).await,
        Command::Profiles { action } => match action {
            ProfilesCommand::List { json } => profiles::list(client, json).await,
            ProfilesCommand::Save {
                name,
                reading,
                json,
            } => profiles::save(client, &name, &reading, json).await,
            ProfilesCommand::Delete { name } => profiles::delete(client, &name).await,
        },
        Command::Void { id, json } => imports::void(client, &id, json).await,
        Command::Claims { patient_id, json } => claims::show(client, &patient_id, json).await,
        Command::Settings {
            time_zone,
            balance_ceiling,
            json,
        } => {
            let change = settings::Change {
                time_zone: time_zone.as_deref(),
                balance_ceiling: balance_ceiling.as_deref(),
            };
            settings::run(client, change, json).await
        }
        Command::DeadLetters { action, json } => match action {
            None => dead_letters::list(client, json).await,
            Some(DeadLettersCommand::Requeue { import, all, json }) => {
                dead_letters::requeue(client, import.as_deref(), all, json).await
            }
        },
        Command::Watch {
            interval,
            once,
            json,
        } => {
            let opts = watch::Options {
                interval,
                once,
                json,
            };
            watch::run(client, opts).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn roles_split_on_commas_and_url_defaults() {
        let cli = Cli::try_parse_from([
            "bfctl", "token", "--tenant", "t", "--user", "u", "--roles", "a,b",
        ])
        .unwrap();
        match cli.command {
            Command::Token {
                roles, ttl_hours, ..
            } => {
                assert_eq!(roles, vec!["a", "b"]);
                assert_eq!(ttl_hours, 12);
            }
            _ => panic!("parsed as the wrong command"),
        }
    }

    fn parse(args: &[&str]) -> Command {
        Cli::try_parse_from(std::iter::once("bfctl").chain(args.iter().copied()))
            .expect("arguments parse")
            .command
    }

    #[test]
    fn import_options_parse_into_the_upload_query() {
        let Command::Import { options, .. } = parse(&[
            "import",
            "b.csv",
            "--profile",
            "acme",
            "--map",
            "Acct #=patient_account_number",
            "--map",
            "Notes=",
            "--date-format",
            "month_day_year",
            "--decimal-style",
            "comma",
            "--expected-credits",
            "-12.50",
            "--expected-patients",
            "3",
        ]) else {
            panic!("parsed as the wrong command");
        };
        let q = options.query().expect("options are valid");
        let keys: Vec<&str> = q.iter().map(|(k, _)| *k).collect();
        assert_eq!(
            keys,
            [
                "profile",
                "mapping",
                "date_format",
                "decimal_style",
                "expected_credit_total",
                "expected_patient_count"
            ]
        );
        assert_eq!(q[4].1, "-12.50");
    }

    #[test]
    fn watch_defaults_to_two_seconds_and_takes_fractions() {
        let Command::Watch {
            interval,
            once,
            json,
        } = parse(&["watch"])
        else {
            panic!("parsed as the wrong command");
        };
        assert_eq!(interval, std::time::Duration::from_secs(2));
        assert!(!once && !json);
        let Command::Watch { interval, once, .. } =
            parse(&["watch", "--interval", "0.5", "--once"])
        else {
            panic!("parsed as the wrong command");
        };
        assert_eq!(interval, std::time::Duration::from_millis(500));
        assert!(once);
        assert!(Cli::try_parse_from(["bfctl", "watch", "--interval", "0"]).is_err());
    }

    #[test]
    fn requeue_needs_one_import_or_all() {
        let Command::DeadLetters {
            action: Some(DeadLettersCommand::Requeue { import, all, .. }),
            ..
        } = parse(&["dead-letters", "requeue", "--import", "i1"])
        else {
            panic!("parsed as the wrong command");
        };
        assert_eq!((import.as_deref(), all), (Some("i1"), false));
        assert!(matches!(
            parse(&["dead-letters"]),
            Command::DeadLetters { action: None, .. }
        ));
        assert!(Cli::try_parse_from(["bfctl", "dead-letters", "requeue"]).is_err());
        assert!(Cli::try_parse_from([
            "bfctl",
            "dead-letters",
            "requeue",
            "--all",
            "--import",
            "i"
        ])
        .is_err());
    }

    #[test]
    fn approve_and_preview_take_the_same_decisions() {
        let Command::Approve { decisions, .. } = parse(&[
            "approve",
            "i1",
            "--accept-flagged",
            "9,3",
            "--existing",
            "post-difference",
        ]) else {
            panic!("parsed as the wrong command");
        };
        let d: Decisions = decisions.into();
        assert_eq!(d.accept_flagged, Some(AcceptFlagged::Lines(vec![3, 9])));
        assert_eq!(d.existing, Some(Existing::PostDifference));
        let Command::Preview { decisions, .. } =
            parse(&["preview", "i1", "--existing", "post_full"])
        else {
            panic!("parsed as the wrong command");
        };
        assert_eq!(
            Decisions::from(decisions).existing,
            Some(Existing::PostFull)
        );
        assert!(Cli::try_parse_from(["bfctl", "approve", "i1", "--accept-flagged", "x"]).is_err());
    }
}
