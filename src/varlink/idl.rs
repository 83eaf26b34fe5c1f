//! The interfaces served and what `org.varlink.service.GetInfo` says about the service.
//!
//! The interface texts are systemd-repart 262's, as its `GetInterfaceDescription` returns
//! them (clients such as `varlinkctl introspect` and `varlinkctl call` check calls against
//! them), so that a client written for systemd-repart sees the same API.

use crate::json::{Object, Value};

/// `io.systemd.Repart`.
pub const REPART: &str = "io.systemd.Repart";
/// `io.systemd` (the generic errors sd-varlink services expose).
pub const SYSTEMD: &str = "io.systemd";
/// `org.varlink.service`.
pub const SERVICE: &str = "org.varlink.service";

/// The interfaces, sorted by name as v262 lists them, with their descriptions.
const INTERFACES: [(&str, &str); 3] = [
    (SYSTEMD, include_str!("interfaces/io.systemd.varlink")),
    (REPART, include_str!("interfaces/io.systemd.Repart.varlink")),
    (
        SERVICE,
        include_str!("interfaces/org.varlink.service.varlink"),
    ),
];

/// Where to read about the service (`GetInfo`'s `url`).
const URL: &str = "https://www.freedesktop.org/software/systemd/man/latest/systemd-repart.html";

/// The description of `interface`, if it is served.
pub fn description(interface: &str) -> Option<&'static str> {
    INTERFACES
        .iter()
        .find(|(name, _)| *name == interface)
        .map(|(_, text)| *text)
}

/// `GetInfo`'s reply: our own vendor, product and version, and the interfaces.
pub fn info() -> Object {
    Object::new()
        .with("vendor", "repart-rs")
        .with("product", "repart-rs (systemd-repart 262 compatible)")
        .with("version", env!("CARGO_PKG_VERSION"))
        .with("url", URL)
        .with(
            "interfaces",
            INTERFACES
                .iter()
                .map(|(name, _)| Value::from(*name))
                .collect::<Vec<_>>(),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_text_declares_its_interface() {
        for (name, text) in INTERFACES {
            assert!(
                text.lines().any(|l| l == format!("interface {name}")),
                "{name}"
            );
            assert!(text.ends_with('\n'));
        }
        let repart = description(REPART).unwrap();
        for item in [
            "method Run(",
            "method ListCandidateDevices(",
            "error ConflictingDiskLabelPresent()",
            "error InsufficientFreeSpace(",
            "error DiskTooSmall(",
            "error NoCandidateDevices()",
            "type ProgressPhase(",
        ] {
            assert!(repart.contains(item), "{item}");
        }
        assert!(description("io.foo").is_none());
    }

    #[test]
    fn info_lists_the_interfaces_in_order() {
        let info = Value::Object(info());
        let names: Vec<&str> = info
            .get("interfaces")
            .and_then(Value::as_array)
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert_eq!(
            names,
            ["io.systemd", "io.systemd.Repart", "org.varlink.service"]
        );
        assert_eq!(
            info.get("version").and_then(Value::as_str),
            Some(env!("CARGO_PKG_VERSION"))
        );
    }
}
