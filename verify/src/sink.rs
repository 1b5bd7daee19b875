//! Where a verified package's content goes when it is streamed: the
//! agent's own storage, an extraction folder, or nowhere (full depth
//! without output).

use hpk_format::PayloadDescriptor;
use std::io;

/// Receives a verified package's content, payload by payload, from
/// [`Package::stream`](crate::Package::stream).
pub trait PayloadSink {
    /// A payload starts.
    fn begin(&mut self, payload: &PayloadDescriptor) -> io::Result<()>;
    /// The next checked chunk of the current payload.
    fn data(&mut self, chunk: &[u8]) -> io::Result<()>;
    /// The current payload ended and its content SHA-256 matched.
    fn end(&mut self, payload: &PayloadDescriptor) -> io::Result<()>;
}
