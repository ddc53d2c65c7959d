//! The ways a command can fail. Kept as one typed enum (rather than
//! `anyhow` everywhere) so the gateway's own words reach the user verbatim
//! and nothing else is echoed — in particular no patient data from files.

/// Why a command failed; `main` prints it as `error: <this>` and exits 1.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The gateway answered with an error status. `message` is what the API
    /// said to this user, so it is safe to show them.
    #[error("{message} (HTTP {status})")]
    Api {
        /// HTTP status code.
        status: u16,
        /// Machine-readable code from the error body, when there was one.
        code: Option<String>,
        /// Human message from the error body (or the status reason).
        message: String,
    },

    /// Nothing listened at the gateway URL; the usual cause is that the
    /// local stack is not up, so say how to start it.
    #[error(
        "could not connect to the gateway at {url} ({cause}); is it running? \
         Start a local one with deploy/local/up, or point --url / BF_URL at it"
    )]
    Connect {
        /// The configured base URL (not the full endpoint).
        url: String,
        /// The lowest-level cause, e.g. "Connection refused (os error 111)".
        cause: String,
    },

    /// The gateway accepted the connection but did not answer in time.
    #[error("timed out waiting for the gateway at {url}")]
    Timeout {
        /// The configured base URL.
        url: String,
    },

    /// A command that talks to the gateway was run without a token.
    #[error(
        "no API token: set BF_TOKEN or pass --token \
         (for a local gateway, mint one with \
         `bfctl token --tenant T --user U --roles imports:write,imports:approve,patients:write`)"
    )]
    MissingToken,

    /// Any other failure to exchange a request and response.
    #[error("request to the gateway at {url} failed: {detail}")]
    Transport {
        /// The configured base URL.
        url: String,
        /// The error chain from the HTTP stack.
        detail: String,
    },

    /// The gateway answered 2xx with a body we could not understand; most
    /// likely `bfctl` and the gateway are different versions.
    #[error("unexpected response from the gateway: {0}")]
    Decode(String),

    /// A local file could not be read.
    #[error("cannot read {path}")]
    Io {
        /// The path as the user gave it.
        path: String,
        /// The operating system's reason.
        #[source]
        source: std::io::Error,
    },

    /// A local file could not be written.
    #[error("cannot write {path}")]
    Write {
        /// The path as the user gave it.
        path: String,
        /// The operating system's reason.
        #[source]
        source: std::io::Error,
    },

    /// The user's input (arguments or file contents) is unusable. Messages
    /// name lines and columns, never cell values.
    #[error("{0}")]
    Input(String),

    /// Writing to stdout failed for a reason other than a closed pipe.
    #[error("cannot write output")]
    Output(#[source] std::io::Error),
}

impl CliError {
    /// Whether waiting a moment and asking again might succeed: used while
    /// polling so a gateway restart does not abort a long `--wait`.
    pub fn is_transient(&self) -> bool {
        match self {
            CliError::Connect { .. } | CliError::Timeout { .. } => true,
            CliError::Api { status, .. } => matches!(status, 502..=504),
            _ => false,
        }
    }
}
