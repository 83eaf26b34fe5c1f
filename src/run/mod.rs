//! One invocation, from the options to the exit status: find the disk, read the definitions,
//! decide about a factory reset, read the table, plan, print, and (unless it is a dry run)
//! apply.

mod image;
mod output;
pub mod progress;
mod table;
mod target;

use std::path::{Path, PathBuf};

use log::info;
use uuid::Uuid;

use crate::apply;
use crate::cli::{Command, Empty, HELP, Options, Seed, Target};
use crate::config::{self, LoadOptions, specifier::SpecifierContext, types::Arch};
use crate::disk::{self, Access, Disk, SystemPaths};
use crate::error::{Error, ErrorKind, Result};
use crate::host::{self, System, factory_reset, identity, os_release};
use crate::plan::{self, PlanOptions, Shortfall};

use progress::{Phase, Progress};
use target::Located;

/// How a run ended, for the front end to report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finished {
    /// No disk was named: only the minimal disk size was determined.
    MinimalSize(u64),
    /// A dry run: the minimal disk size, the disk's size, and the number of partitions on it
    /// (`None` when `--empty=` did not read the table).
    DryRun {
        minimal_size: u64,
        current_size: u64,
        partition_count: Option<usize>,
    },
    /// A real run wrote what the plan said, or found nothing to change.
    Applied,
    /// `--can-factory-reset`: the exit status (0 resettable, 1 not).
    Status(u8),
    /// The partitions do not fit; nothing was written.
    DoesNotFit(Shortfall),
}

/// Runs the command and returns the exit status (0, or 1 for `--can-factory-reset` when
/// nothing is resettable); failures are errors whose kind gives the status.
pub fn run(o: &Options) -> Result<u8> {
    match o.command {
        Command::Help => {
            print!("{HELP}");
            return Ok(0);
        }
        Command::Version => {
            println!(
                "repart-rs {} (systemd-repart 262 compatible)",
                env!("CARGO_PKG_VERSION")
            );
            return Ok(0);
        }
        Command::ListDevices => {
            crate::varlink::print_devices(output::style(true).colors.grey())?;
            return Ok(0);
        }
        Command::Run => {}
    }
    if let Some(path) = &o.varlink {
        crate::varlink::listen(path, o)?;
        return Ok(0);
    }
    if let Some(socket) = crate::varlink::activated()? {
        crate::varlink::serve_activated(socket, o)?;
        return Ok(0);
    }
    match execute(o, &mut progress::Silent)? {
        Finished::MinimalSize(size) => {
            info!(
                "Automatically determined minimal disk image size as {}.",
                crate::report::format_bytes(size)
            );
            Ok(0)
        }
        Finished::DryRun { .. } | Finished::Applied => Ok(0),
        Finished::Status(status) => Ok(status),
        Finished::DoesNotFit(shortfall) => Err(shortfall.into()),
    }
}

/// One run, shared by the command line and Varlink's `Run`: find the disk, read the
/// definitions, decide about a factory reset, read the table, plan, print (as `o` says),
/// and unless it is a dry run apply. `progress` follows the phases.
pub fn execute(o: &Options, progress: &mut dyn Progress) -> Result<Finished> {
    progress.phase(Phase::LoadingDefinitions, None)?;
    let sys = System::live();
    let paths = SystemPaths::default();
    let in_initrd = host::initrd::in_initrd(&sys);
    let cmdline = host::cmdline::read(&sys, in_initrd)?;

    let root = choose_root(o, in_initrd)?;
    // Beyond systemd-repart: an initrd whose root is not mounted yet finds its disk from the
    // boot configuration, and takes the definitions from its own repart.d.
    let early = in_initrd
        && o.root.is_none()
        && o.target == Target::Discover
        && !disk::is_mount_point(&root)?;
    let located = match &o.target {
        Target::NoDevice => None,
        Target::Path(path) if o.empty == Empty::Create => Some(Located::Image(path.clone())),
        Target::Path(path) => Some(target::named(path, &paths)?),
        Target::Discover if early => {
            info!(
                "{} is not mounted yet; looking for the disk in the boot configuration.",
                root.display()
            );
            Some(target::from_boot_config(&sys, &cmdline, &paths)?)
        }
        Target::Discover => Some(target::behind_root(&root, &paths)?),
    };
    if let Some(Located::Device { node, how }) = &located {
        info!("Using disk {} (found {how}).", node.display());
    }
    let config_root = if early { PathBuf::from("/") } else { root };

    let machine_id = identity::read_machine_id(&config_root)?;
    let seed = match o.seed {
        Seed::Fixed(seed) => seed,
        Seed::Random => identity::random_id128()?,
        Seed::MachineId => match machine_id {
            Some(id) => id,
            None => {
                info!("No machine ID set, using randomized partition UUIDs.");
                identity::random_id128()?
            }
        },
    };
    let definitions = config::load(&LoadOptions {
        root: (config_root != Path::new("/")).then_some(config_root.as_path()),
        definitions: &o.definitions,
        architecture: o.architecture,
        specifiers: &|| specifier_context(&sys, &config_root, machine_id),
    })?;
    let facts = factory_reset::SystemFacts::new(&sys, &cmdline);
    let reset = factory_reset::decide(o.factory_reset, in_initrd, &facts)?;
    if let Some(message) = reset.honouring_message() {
        info!("{message}");
    }

    let mut options = PlanOptions {
        seed,
        grain_size: o.grain_size,
        factory_reset: false,
        include: o
            .include_partitions
            .as_ref()
            .map(|l| l.iter().map(|t| t.uuid).collect()),
        exclude: o
            .exclude_partitions
            .as_ref()
            .map(|l| l.iter().map(|t| t.uuid).collect()),
        defer: o.defer_partitions.iter().map(|t| t.uuid).collect(),
        defer_empty: o.defer_partitions_empty,
        defer_factory_reset: o.defer_partitions_factory_reset,
        default_fs_sector_size: u64::from(o.sector_size.unwrap_or(4096)),
        fallback_entropy: entropy()?,
    };

    let Some(located) = located else {
        acquire_labels(&definitions, progress)?;
        let size = image::minimal_size(&definitions, &options, o.sector_size.unwrap_or(512))?;
        return Ok(Finished::MinimalSize(size));
    };
    let fresh_file = o.empty == Empty::Create;
    if fresh_file {
        image::create(located.path())?;
    }
    let access = if o.dry_run {
        Access::ReadOnly
    } else {
        Access::ReadWrite
    };
    let mut disk = Disk::open(located.path(), access, o.sector_size)?;
    if let (Located::Image(_), None) = (&located, o.sector_size) {
        // Through the disk just opened, not an opening of its own.
        if let Some(size) = image::detect_sector_size(&disk)? {
            disk.set_image_sector_size(size)?;
        }
    }
    if disk.is_block_device() {
        options.default_fs_sector_size = u64::from(disk.device_sector_size());
    }
    let size_before = disk.size();
    let size = image::target_size(&mut disk, o, &definitions, &options)?;
    progress.phase(Phase::LoadingTable, None)?;
    let mut start = table::start(&disk, size, o.empty)?;
    if disk.size() > size_before {
        image::resize_table(&disk, &mut start)?;
    }
    let layout = start.layout(size);
    for notice in start
        .existing()
        .map(|l| l.notices.as_slice())
        .unwrap_or_default()
    {
        info!("{}: {notice}", disk.path().display());
    }

    if o.can_factory_reset {
        let candidates = plan::factory_reset_candidates(&layout, &definitions, &options)?;
        return Ok(Finished::Status(if candidates.is_empty() { 1 } else { 0 }));
    }
    options.factory_reset = reset.reset && start.existing().is_some();
    acquire_labels(&definitions, progress)?;
    progress.phase(Phase::Placing, None)?;
    if let Err(shortfall) = plan::layout(&layout, &definitions, &options)? {
        log_notes(&shortfall.notes);
        return Ok(Finished::DoesNotFit(shortfall));
    }
    let plan = plan::plan(&layout, &definitions, &options)?;
    log_notes(&plan.notes);
    if plan.capped_existing_charges {
        // A result v262 does not produce (docs/compat.md, item 29): say so.
        info!(
            "Existing partitions are charged the space they have, not their minimum rounded up \
             to the {}-byte grain (systemd-repart 262 refuses this disk).",
            plan.grain
        );
    }
    let dry_run_summary = || -> Result<Finished> {
        Ok(Finished::DryRun {
            minimal_size: plan::minimal_size(&layout, &definitions, &options)?,
            current_size: size,
            // v262 counts what it read: nothing with force and require.
            partition_count: matches!(o.empty, Empty::Refuse | Empty::Allow)
                .then_some(layout.partitions.len()),
        })
    };
    let repair = start.existing().is_some_and(|l| l.needs_rewrite);
    let out = output::Output::new(o, &disk, size, &plan, &definitions);
    out.table();
    if !plan.changed && !repair {
        info!("No changes.");
        if o.dry_run {
            out.json();
            return dry_run_summary();
        }
        if let Some(loaded) = start.existing() {
            apply::sync_kernel(&disk, &loaded.table, &paths)?;
        }
        finish_reset(o, &sys, reset)?;
        out.json();
        return Ok(Finished::Applied);
    }
    if !plan.changed {
        info!("The partition table needs repairing (see above); nothing else changes.");
    }
    if o.dry_run {
        info!("Refusing to repartition, please re-run with --dry-run=no.");
        out.json();
        return dry_run_summary();
    }
    if let Some(loaded) = start.existing() {
        loaded.ensure_rewritable()?;
    }
    for (phase, object) in progress::write_phases(&plan, &definitions) {
        progress.phase(phase, object.as_deref())?;
    }
    apply::apply(apply::Request {
        disk: &disk,
        plan: &plan,
        definitions: &definitions,
        old: start.into_existing().map(|l| l.table),
        discard: o.discard,
        fresh_file,
        paths: &paths,
    })?;
    if disk.is_block_device() {
        // Written already: the front end hears of it, but cannot stop anything now.
        if let Err(e) = progress.phase(Phase::RereadingTable, None) {
            log::debug!("{e}");
        }
    }
    finish_reset(o, &sys, reset)?;
    out.json();
    Ok(Finished::Applied)
}

/// The planner's messages (dropped priority levels), where v262 prints them: before the
/// table, or before the error when nothing fits.
fn log_notes(notes: &[String]) {
    for note in notes {
        info!("{note}");
    }
}

/// Reports the label phase of each definition, as v262 does before placing.
fn acquire_labels(
    definitions: &[config::definition::Definition],
    progress: &mut dyn Progress,
) -> Result<()> {
    for d in definitions {
        progress.phase(Phase::AcquiringPartitionLabels, Some(&d.display_path))?;
    }
    Ok(())
}

/// After a real run that honoured a factory-reset request, makes sure the next boot does
/// not reset again: the legacy `FactoryReset` EFI variable is removed (v252 did this; v262
/// ignores the variable), and with `--complete-factory-reset=yes` a `FactoryResetRequest`
/// is completed as `systemd-factory-reset complete` does (removed, and
/// /run/systemd/factory-reset-complete created), for initrds that lack that tool.
fn finish_reset(o: &Options, sys: &System, reset: factory_reset::Decision) -> Result<()> {
    if reset.remove_legacy_variable() && factory_reset::remove_legacy_variable(sys)? {
        info!("Removed EFI variable FactoryReset, so the next boot does not reset again.");
    }
    if o.complete_factory_reset && reset.reset && reset.source == factory_reset::Source::Request {
        factory_reset::complete(sys)?;
        info!("Completed the factory reset requested by EFI variable FactoryResetRequest.");
    }
    Ok(())
}

/// The directory definitions and the machine ID are read below: `--root=`, else in the
/// initrd `/sysusr` when `/sysusr/usr` is mounted and `/sysroot` otherwise, else `/`.
fn choose_root(o: &Options, in_initrd: bool) -> Result<PathBuf> {
    if let Some(root) = &o.root {
        return Ok(root.clone());
    }
    if !in_initrd {
        return Ok(PathBuf::from("/"));
    }
    if disk::is_mount_point(Path::new("/sysusr/usr"))? {
        Ok(PathBuf::from("/sysusr"))
    } else {
        Ok(PathBuf::from("/sysroot"))
    }
}

/// The values of `Label=` specifiers, from the system and the os-release below `root`.
fn specifier_context(
    sys: &System,
    root: &Path,
    machine_id: Option<Uuid>,
) -> Result<SpecifierContext> {
    let os = os_release::read(root)?;
    let field = |key: &str| {
        os.as_ref()
            .map(|os| os.get(key).unwrap_or_default().to_owned())
    };
    let hostname = identity::hostname();
    let tmp = |default: &str| {
        ["TMPDIR", "TEMP", "TMP"]
            .iter()
            .filter_map(|v| sys.var(v))
            .find(|d| d.starts_with('/') && Path::new(d).is_dir())
            .unwrap_or_else(|| default.to_owned())
    };
    Ok(SpecifierContext {
        architecture: Some(Arch::native().name().to_owned()),
        image_version: field("IMAGE_VERSION"),
        boot_id: identity::read_boot_id(sys)
            .ok()
            .map(|id| id.simple().to_string()),
        build_id: field("BUILD_ID"),
        short_hostname: Some(hostname.split('.').next().unwrap_or_default().to_owned()),
        hostname: Some(hostname),
        machine_id: machine_id.map(|id| id.simple().to_string()),
        image_id: field("IMAGE_ID"),
        os_id: field("ID"),
        pretty_hostname: None,
        kernel_release: Some(identity::kernel_release()),
        version_id: field("VERSION_ID"),
        variant_id: field("VARIANT_ID"),
        tmp_dir: Some(tmp("/tmp")),
        var_tmp_dir: Some(tmp("/var/tmp")),
    })
}

/// The planner's only randomness (UUIDs for the rare derived UUID that collides).
fn entropy() -> Result<[u8; 32]> {
    let mut bytes = [0u8; 32];
    identity::fill_random(&mut bytes)?;
    Ok(bytes)
}

/// An error for a run that cannot go on, with what to do about it.
pub(crate) fn usage(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::Usage, message)
}
