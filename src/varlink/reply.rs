//! Answering one call: progress replies (with `more`), the final reply or an error, and
//! nothing at all for `oneway` calls.

use crate::error::Result;
use crate::json::Object;

use super::call::{self, Call};
use super::wire::Connection;

/// `org.varlink.service.InvalidParameter`.
pub const INVALID_PARAMETER: &str = "org.varlink.service.InvalidParameter";

/// The way back to the caller of one call.
pub struct Replier<'c> {
    conn: &'c Connection,
    more: bool,
    oneway: bool,
}

impl<'c> Replier<'c> {
    pub fn new(conn: &'c Connection, call: &Call) -> Replier<'c> {
        Replier {
            conn,
            more: call.more,
            oneway: call.oneway,
        }
    }

    /// The caller asked for a stream of replies.
    pub fn more(&self) -> bool {
        self.more
    }

    /// The caller asked for no reply.
    pub fn oneway(&self) -> bool {
        self.oneway
    }

    /// The connection.
    pub fn connection(&self) -> &Connection {
        self.conn
    }

    /// A reply with `continues` (sent only if the caller asked for `more`).
    pub fn progress(&self, parameters: Object) -> Result<()> {
        if self.more && !self.oneway {
            self.conn.send(&call::reply(parameters, true))?;
        }
        Ok(())
    }

    /// The last reply.
    pub fn finish(&self, parameters: Object) -> Result<()> {
        if !self.oneway {
            self.conn.send(&call::reply(parameters, false))?;
        }
        Ok(())
    }

    /// An error reply (the call ends with it).
    pub fn error(&self, name: &str, parameters: Object) -> Result<()> {
        if !self.oneway {
            self.conn.send(&call::error(name, parameters))?;
        }
        Ok(())
    }

    /// `org.varlink.service.InvalidParameter` naming `parameter`.
    pub fn invalid_parameter(&self, parameter: &str) -> Result<()> {
        self.error(
            INVALID_PARAMETER,
            Object::new().with("parameter", parameter),
        )
    }
}
