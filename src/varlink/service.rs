//! One connection: read calls one after the other and answer each, until the peer closes
//! the connection or breaks the protocol (then the connection is closed, as v262 does).

use log::{debug, warn};

use crate::cli::Options;
use crate::json::Object;

use super::call::{self, Call};
use super::idl;
use super::method_list;
use super::method_run;
use super::params::{self, Field, Kind};
use super::reply::Replier;
use super::wire::Connection;

/// Serves calls on `conn` until it ends. `base` holds the flags the process was started
/// with.
pub fn serve(conn: &mut Connection, base: &Options) {
    loop {
        let message = match conn.receive() {
            Ok(Some(message)) => message,
            Ok(None) => return,
            Err(broken) => {
                warn!("Varlink: {broken}; closing the connection.");
                return;
            }
        };
        let call = match call::parse(&message) {
            Ok(call) => call,
            Err(e) => {
                warn!("Varlink protocol error: {e}; closing the connection.");
                return;
            }
        };
        debug!("Varlink call {}.", call.method);
        if let Err(e) = answer(conn, &call, base) {
            // The reply could not be sent: the caller is gone.
            debug!("Varlink: {e}; closing the connection.");
            return;
        }
    }
}

/// Answers one call.
fn answer(conn: &Connection, call: &Call, base: &Options) -> crate::error::Result<()> {
    let r = Replier::new(conn, call);
    let p = &call.parameters;
    match call.method.as_str() {
        "org.varlink.service.GetInfo" => match params::check(p, &[]) {
            Some(bad) => r.invalid_parameter(bad),
            None => r.finish(idl::info()),
        },
        "org.varlink.service.GetInterfaceDescription" => {
            const FIELDS: &[Field] = &[Field {
                name: "interface",
                kind: Kind::String,
                mandatory: true,
            }];
            if let Some(bad) = params::check(p, FIELDS) {
                return r.invalid_parameter(bad);
            }
            let interface = params::string(p, "interface").unwrap_or_default();
            match idl::description(interface) {
                Some(text) => r.finish(Object::new().with("description", text)),
                None => r.error(
                    "org.varlink.service.InterfaceNotFound",
                    Object::new().with("interface", interface),
                ),
            }
        }
        "io.systemd.Repart.Run" => method_run::call(&r, p, base),
        "io.systemd.Repart.ListCandidateDevices" => method_list::call(&r, p),
        other => r.error(
            "org.varlink.service.MethodNotFound",
            Object::new().with("method", other),
        ),
    }
}
