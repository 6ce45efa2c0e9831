//! `burnrate serve`: what `watch` runs (the poller, alerts, channels) plus a read-only HTTP
//! server: `/metrics` for Prometheus, `/healthz`, and the JSON API under `/api/v1/` (see
//! docs/api.md). `--store-token` and `--forget-token` manage the bearer token in the OS secret
//! store instead.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use burnrate_core::serve::{ServeOptions, Server, DEFAULT_LISTEN};
use burnrate_core::{Burnrate, Error, Result};
use clap::Args;

use super::read_secret_from_stdin;
use super::watch::{self, WatchArgs};
use crate::output::{errln, outln};

#[derive(Args)]
pub struct ServeArgs {
    #[command(flatten)]
    watch: WatchArgs,
    /// Address and port to answer on; anything but loopback requires a token
    #[arg(long, value_name = "ADDR:PORT", default_value = DEFAULT_LISTEN)]
    listen: SocketAddr,
    /// Require `Authorization: Bearer <token>` with the token in this environment variable
    /// (else the one stored with --store-token, if any)
    #[arg(long, value_name = "VAR")]
    token_env: Option<String>,
    /// Read a token from standard input, store it in the OS secret store, and exit
    #[arg(long, conflicts_with_all = ["forget_token", "token_env"])]
    store_token: bool,
    /// Remove the stored token and exit
    #[arg(long, conflicts_with = "token_env")]
    forget_token: bool,
}

pub async fn run(app: Burnrate, args: ServeArgs) -> Result<ExitCode> {
    if args.store_token {
        let token = read_secret_from_stdin("the token", "openssl rand -hex 32 | burnrate serve --store-token")?;
        app.store_serve_token(&token)?;
        outln!("stored the serve token in the OS secret store; `burnrate serve` now requires it");
        return Ok(ExitCode::SUCCESS);
    }
    if args.forget_token {
        app.forget_serve_token()?;
        outln!("removed the serve token; `burnrate serve` answers without one on loopback only");
        return Ok(ExitCode::SUCCESS);
    }
    let token = app.serve_token(args.token_env.as_deref())?;
    let app = Arc::new(app);
    let server = Server::bind(app.clone(), ServeOptions::new(args.listen, token)).await?;
    errln!("serving on http://{}", server.local_addr());
    let (stop_serving, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.run(async {
        let _ = stopped.await;
    }));
    let poller = watch::start_poller(app, &args.watch);
    errln!("watching; press Ctrl-C to stop");
    let mut events = watch::log_until_stopped(&poller).await;
    errln!("stopping after the poll and the requests in flight…");
    let _ = stop_serving.send(());
    poller.stop().await;
    watch::log_remaining(&mut events);
    serving.await.map_err(|e| Error::internal(format!("the HTTP server stopped unexpectedly: {e}")))??;
    Ok(ExitCode::SUCCESS)
}
