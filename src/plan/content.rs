//! Refusing partitions whose content we cannot write yet.

use super::result::Plan;
use crate::config::definition::{ContentKey, Definition};
use crate::error::{Error, ErrorKind, Result};

/// Formats we write ourselves: a swap signature, or nothing at all.
fn is_supported_format(format: Option<&str>) -> bool {
    matches!(format, None | Some("swap" | "empty"))
}

/// Why a content key cannot be honoured, or `None` if it can.
fn refusal(def: &Definition, key: &ContentKey) -> Option<String> {
    let reason = match key.key {
        "Format" if is_supported_format(def.format.as_deref()) => return None,
        "Format" => {
            let format = def.format.as_deref().unwrap_or_default();
            return Some(format!(
                "{}: Format={format}: creating file systems is not supported yet",
                key.at
            ));
        }
        "CopyBlocks" => "copying blocks into partitions",
        "Encrypt" => "encrypting partitions",
        "Verity" => "dm-verity partitions",
        _ => "populating file systems",
    };
    Some(format!(
        "{}: {}=: {reason} is not supported yet",
        key.at, key.key
    ))
}

/// Fails with `Unsupported` on the first partition to be created now (not existing, dropped
/// or deferred) whose definition asks for content we cannot write, naming the key.
pub fn refuse_unsupported(plan: &Plan, definitions: &[Definition]) -> Result<()> {
    for p in &plan.partitions {
        if p.existing || p.dropped || p.deferred {
            continue;
        }
        let Some(def) = p.definition.and_then(|d| definitions.get(d)) else {
            continue;
        };
        if let Some(message) = def.content_keys.iter().find_map(|k| refusal(def, k)) {
            return Err(Error::new(ErrorKind::Unsupported, message));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::definition::Location;
    use crate::config::types::PartitionType;
    use std::path::PathBuf;

    fn key(key: &'static str, line: usize) -> ContentKey {
        ContentKey {
            key,
            at: Location {
                file: PathBuf::from("/etc/repart.d/60-home.conf"),
                line,
            },
        }
    }

    #[test]
    fn names_the_first_unsupported_key() {
        let mut d = Definition::new(
            PathBuf::from("/etc/repart.d/60-home.conf"),
            PartitionType::parse("home").unwrap(),
        );
        d.format = Some("ext4".into());
        d.content_keys = vec![key("Format", 4), key("CopyFiles", 5)];
        assert_eq!(
            refusal(&d, &d.content_keys[0]).unwrap(),
            "/etc/repart.d/60-home.conf:4: Format=ext4: creating file systems is not supported yet"
        );
        d.format = Some("swap".into());
        assert_eq!(refusal(&d, &d.content_keys[0]), None);
        assert_eq!(
            refusal(&d, &d.content_keys[1]).unwrap(),
            "/etc/repart.d/60-home.conf:5: CopyFiles=: populating file systems is not supported yet"
        );
    }
}

#[cfg(test)]
mod plan_tests {
    use super::super::tests_support::*;
    use super::super::{ErrorKind, plan};
    use super::*;
    use crate::config::definition::Location;

    fn with_format(spec: &str, format: &str, line: usize) -> Definition {
        let mut d = def(spec);
        d.format = Some(format.into());
        d.content_keys = vec![ContentKey {
            key: "Format",
            at: Location {
                file: d.path.clone(),
                line,
            },
        }];
        d
    }

    #[test]
    fn only_partitions_to_create_are_refused() {
        let defs = vec![def("10-root"), with_format("60-home", "ext4", 4)];
        let e = plan(&disk(256, vec![]), &defs, &options()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unsupported);
        assert_eq!(
            e.to_string(),
            "/defs/60-home.conf:4: Format=ext4: creating file systems is not supported yet"
        );
        // Existing partitions keep their content.
        let d = disk(256, vec![existing(0, "home", 2048, 2048 + 81919, "home")]);
        assert!(plan(&d, &defs, &options()).is_ok());
        // Swap signatures we write ourselves.
        let swap = vec![with_format("10-gen:Type=linux-generic", "swap", 3)];
        assert!(plan(&disk(256, vec![]), &swap, &options()).is_ok());
        // Deferred ones are not created now.
        let mut o = options();
        o.defer = vec![defs[1].partition_type.uuid];
        assert!(plan(&disk(256, vec![]), &defs, &o).is_ok());
    }

    #[test]
    fn no_space_is_reported_before_content() {
        let defs = vec![with_format("60-home", "ext4", 4)];
        let e = plan(&disk(20, vec![]), &defs, &options()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NoSpace);
    }
}
