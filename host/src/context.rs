//! What every command is wired with: the converter, the AWS client, the
//! lake a destination names, and the event pipeline over them.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use summary_lake::source::default_routes;
use summary_lake::Layout;
use summary_pipeline::apply::{Catalog, Lake};
use summary_pipeline::descriptor::{DescribedStore, LakeLayout};
use summary_pipeline::events::Pipeline;
use summary_pipeline::glue_catalog::GlueCatalog;
use summary_pipeline::s3_store::S3Store;
use summary_pipeline::store::ObjectStore;

use crate::aws_transport::{parse_s3_url, AwsClient, AwsFlags};
use crate::cli::{Cli, Destination, EdgeOptions};
use crate::converter::{default_cache_dir, Converter, GuestLimits};
use crate::lake_views::{Changes, DryRun, Metered};
use crate::local_store::LocalStore;

/// The converter and the AWS client every command that converts uses.
pub struct Context {
    pub converter: Converter,
    /// Made on first use ([`Context::client`]).
    aws: OnceLock<AwsClient>,
    aws_flags: AwsFlags,
    request_timeout: Duration,
    /// When the process started: commands report their time from it.
    pub started: Instant,
}

impl Context {
    /// Loads the converter as the global flags say; the AWS configuration
    /// waits for the first command that calls AWS.
    pub fn load(cli: &Cli, started: Instant) -> Result<Self> {
        let component = component_path(cli.component.clone())?;
        let converter = Converter::load(&component, cache_dir(cli).as_deref(), limits(cli))?;
        tracing::info!(component = %component.display(), ms = started.elapsed().as_millis() as u64, "converter loaded");
        Ok(Context {
            converter,
            aws: OnceLock::new(),
            aws_flags: cli.aws_flags(),
            request_timeout: Duration::from_secs_f64(cli.request_timeout.max(0.1)),
            started,
        })
    }

    /// The AWS client, its configuration found the AWS CLI's way (flags,
    /// environment, profiles, the instance metadata service) on first use:
    /// a command that reads and writes only local files (a `replay` into a
    /// local lake) never looks, and never waits on the metadata service.
    pub fn client(&self) -> Result<&AwsClient> {
        if let Some(client) = self.aws.get() {
            return Ok(client);
        }
        let client = crate::aws_transport::native_aws(&self.aws_flags, self.request_timeout)?;
        Ok(self.aws.get_or_init(|| client))
    }

    /// The lake a destination names, its writes counted (`summary_pipeline::metrics`).
    pub fn open_lake(&self, destination: &Destination) -> Result<OpenedLake<'_>> {
        open_lake(destination, self, false)
    }

    /// The lake as [`Context::open_lake`] opens it or, for `--dry-run`, a
    /// view of it that writes nothing and records what would be written
    /// (`OpenedLake::dry_run`); a dry run leaves Glue alone.
    pub fn open_lake_for(
        &self,
        destination: &Destination,
        dry_run: bool,
    ) -> Result<OpenedLake<'_>> {
        open_lake(destination, self, dry_run)
    }

    /// The pipeline S3 events go through, into `lake`.
    pub fn pipeline<'a>(
        &'a self,
        lake: &'a OpenedLake<'a>,
        edge: &EdgeOptions,
    ) -> Result<Pipeline<'a>> {
        Ok(Pipeline {
            converter: &self.converter,
            lake: lake.store.as_ref(),
            source: self.client()?,
            layout: &lake.layout,
            catalog: lake.catalog.as_ref().map(|c| c as &dyn Catalog),
            routes: if edge.routes.is_empty() {
                default_routes()
            } else {
                edge.routes.clone()
            },
            max_source_bytes: edge.max_summary_bytes,
            io_concurrency: edge.io_concurrency as usize,
        })
    }
}

/// Where precompiled components are cached, as the flags say.
pub fn cache_dir(cli: &Cli) -> Option<PathBuf> {
    if cli.no_cache {
        return None;
    }
    cli.cache_dir
        .clone()
        .or_else(shipped_cache_dir)
        .or_else(default_cache_dir)
}

fn limits(cli: &Cli) -> GuestLimits {
    GuestLimits {
        base_memory: cli.guest_memory_mib << 20,
        memory_per_input_byte: cli.guest_memory_per_byte,
        base_time: std::time::Duration::from_secs_f64(cli.guest_seconds.max(0.01)),
        time_per_mib: std::time::Duration::from_secs_f64(cli.guest_seconds_per_mib.max(0.0)),
    }
}

/// The opened destination: the store, and the catalog for an S3 lake.
pub struct OpenedLake<'a> {
    pub store: Box<dyn ObjectStore + 'a>,
    /// The lake's layout, read from its descriptor when first needed (or
    /// the new lake's, written before its first object).
    pub layout: Arc<LakeLayout>,
    pub catalog: Option<GlueCatalog<'a>>,
    /// For a dry run, what the run would have changed.
    pub dry_run: Option<Changes>,
}

impl OpenedLake<'_> {
    /// The lake's layout (its descriptor read on first use).
    pub fn layout(&self) -> Result<Layout> {
        Ok(self.layout.layout(self.store.as_ref())?)
    }

    /// What plans are applied to: this lake, with `converter` for rewrites;
    /// an error if the lake's layout cannot be read or is not the one asked.
    pub fn writer<'a>(
        &'a self,
        converter: &'a Converter,
        io_concurrency: usize,
    ) -> Result<Lake<'a>> {
        Ok(Lake {
            store: self.store.as_ref(),
            layout: self.layout()?,
            catalog: self.catalog.as_ref().map(|c| c as &dyn Catalog),
            converter,
            io_concurrency,
        })
    }
}

fn open_lake<'a>(
    destination: &Destination,
    ctx: &'a Context,
    dry_run: bool,
) -> Result<OpenedLake<'a>> {
    let dest = destination.dest.clone().unwrap_or_else(|| "lake".into());
    let s3 = dest.starts_with("s3://");
    let client = if s3 { Some(ctx.client()?) } else { None };
    let (real, catalog): (Box<dyn ObjectStore + 'a>, _) = if let Some(client) = client {
        let (bucket, prefix) = parse_s3_url(&dest)?;
        let mut store = S3Store::new(client, bucket, prefix);
        if env_switch("SUMMARY_UNCONDITIONAL_WRITES")? {
            tracing::warn!(
                "SUMMARY_UNCONDITIONAL_WRITES: writes are not conditional; run one writer per kind"
            );
            store = store.without_conditional_writes();
        }
        (Box::new(store), !destination.no_glue && !dry_run)
    } else {
        let sync = env_switch("SUMMARY_LOCAL_SYNC")?;
        (Box::new(LocalStore::new(dest).with_sync(sync)), false)
    };
    let catalog = match (catalog, client) {
        (true, Some(client)) => {
            let lake_url = real.lake_url().unwrap_or_default();
            Some(GlueCatalog::new(
                client,
                destination.glue_database.clone(),
                lake_url,
            ))
        }
        _ => None,
    };
    let (inner, dry_run): (Box<dyn ObjectStore + 'a>, _) = if dry_run {
        let changes = Changes::default();
        let view = DryRun {
            real,
            changes: changes.clone(),
        };
        (Box::new(view), Some(changes))
    } else {
        (real, None)
    };
    // The descriptor is read when first needed and written before the
    // first write (a dry run lists it among what it would write); a lake
    // of another layout than asked gets no write.
    let layout = Arc::new(LakeLayout::new(destination.layout, true));
    let described = DescribedStore {
        inner,
        layout: layout.clone(),
    };
    Ok(OpenedLake {
        store: Box::new(Metered {
            inner: Box::new(described),
        }),
        layout,
        catalog,
        dry_run,
    })
}

/// A yes/no environment variable: unset is no; `1`, `true`, `yes`, `on`
/// and `0`, `false`, `no`, `off` (any case) are taken, anything else is an
/// error naming the variable.
fn env_switch(name: &str) -> Result<bool> {
    let Some(value) = std::env::var_os(name) else {
        return Ok(false);
    };
    let value = value.to_string_lossy().to_ascii_lowercase();
    match value.trim() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "" | "0" | "false" | "no" | "off" => Ok(false),
        other => anyhow::bail!("{name}={other:?}: expected 1/0, true/false, yes/no or on/off"),
    }
}

/// Set by the first SIGTERM or SIGINT; a second SIGINT ends the process at once.
pub fn shutdown_flag() -> Result<Arc<AtomicBool>> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let stop = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register_conditional_shutdown(SIGINT, 130, stop.clone())
        .context("installing the SIGINT handler")?;
    for signal in [SIGTERM, SIGINT] {
        signal_hook::flag::register(signal, stop.clone())
            .context("installing the SIGTERM/SIGINT handlers")?;
    }
    Ok(stop)
}

/// `precompiled/` beside the binary, where a deployment (the Lambda zip)
/// ships the component compiled at build time.
fn shipped_cache_dir() -> Option<PathBuf> {
    let dir = std::env::current_exe().ok()?.with_file_name("precompiled");
    dir.is_dir().then_some(dir)
}

/// `--component`, else `$SUMMARY_COMPONENT`, else `summary_guest.wasm` beside the binary.
pub fn component_path(flag: Option<PathBuf>) -> Result<PathBuf> {
    if let Some(path) = flag.or_else(|| std::env::var_os("SUMMARY_COMPONENT").map(PathBuf::from)) {
        return Ok(path);
    }
    let exe = std::env::current_exe().context("locating this binary")?;
    let beside = exe.with_file_name("summary_guest.wasm");
    if beside.exists() {
        Ok(beside)
    } else {
        anyhow::bail!(
            "no converter component: pass --component, set SUMMARY_COMPONENT, or put summary_guest.wasm beside {} (scripts/setup does)",
            exe.display()
        )
    }
}
