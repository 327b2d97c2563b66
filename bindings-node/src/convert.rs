//! Conversions napi-rs does not make the way flagcore needs them (values and
//! strings otherwise cross through napi-rs's own).

use std::borrow::Cow;
use std::cell::Cell;
use std::ptr;

use napi::bindgen_prelude::{Buffer, Either, FromNapiValue};
use napi::{sys, Error, Result, Status};

/// The buffer context texts are read into, reused across calls on this
/// thread: one allocation less per evaluation.
const KEPT_CAPACITY: usize = 1024;
/// A longer buffer, grown for a large context, is not kept.
const MAX_KEPT_CAPACITY: usize = 64 * 1024;
/// The most bytes one character takes in UTF-8.
const MAX_CHAR_BYTES: usize = 4;

thread_local! {
    static BUFFER: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

/// A string argument (a context's JSON text), read as UTF-8 in one call
/// into this thread's buffer. napi-rs's `String` asks for the length first
/// and then allocates: on the hot path that costs about as much as parsing
/// a small context.
pub(crate) struct Text(Vec<u8>);

impl Text {
    /// The text. V8 writes well-formed UTF-8 (lone surrogates become U+FFFD),
    /// so the lossy conversion never copies in practice.
    pub(crate) fn as_str(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.0)
    }
}

/// Reads `value` into `buffer`'s capacity and sets its length to the bytes
/// written (at most the capacity less one, for the terminating NUL).
///
/// # Safety
/// `env` and `value` must be valid for this call, as napi-rs hands them over.
unsafe fn read_utf8(
    env: sys::napi_env,
    value: sys::napi_value,
    buffer: &mut Vec<u8>,
) -> Result<()> {
    let mut written = 0usize;
    // SAFETY: the pointer and capacity describe `buffer`'s allocation, which
    // Node writes at most `capacity` bytes into.
    let status = unsafe {
        sys::napi_get_value_string_utf8(
            env,
            value,
            buffer.as_mut_ptr().cast(),
            buffer.capacity(),
            &mut written,
        )
    };
    if status != sys::Status::napi_ok {
        return Err(Error::new(Status::StringExpected, "expected a string"));
    }
    // SAFETY: Node wrote `written` bytes (not counting the NUL after them),
    // fewer than the capacity.
    unsafe { buffer.set_len(written.min(buffer.capacity().saturating_sub(1))) };
    Ok(())
}

impl FromNapiValue for Text {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> Result<Self> {
        let mut buffer = BUFFER.with(Cell::take);
        buffer.clear();
        buffer.reserve(KEPT_CAPACITY);
        // SAFETY: napi-rs passes a valid env and value.
        unsafe { read_utf8(env, value, &mut buffer)? };
        // Node stops short of a character that does not fit: a text this
        // close to the end may have been cut, so ask its length and read it
        // again into room enough.
        if buffer.len() + MAX_CHAR_BYTES >= buffer.capacity() {
            let mut length = 0usize;
            // SAFETY: with no buffer, Node only reports the length.
            let status = unsafe {
                sys::napi_get_value_string_utf8(env, value, ptr::null_mut(), 0, &mut length)
            };
            if status != sys::Status::napi_ok {
                return Err(Error::new(Status::StringExpected, "expected a string"));
            }
            buffer.clear();
            buffer.reserve(length + 1);
            // SAFETY: as above.
            unsafe { read_utf8(env, value, &mut buffer)? };
        }
        Ok(Text(buffer))
    }
}

impl Drop for Text {
    fn drop(&mut self) {
        let buffer = std::mem::take(&mut self.0);
        if buffer.capacity() <= MAX_KEPT_CAPACITY {
            BUFFER.with(|kept| kept.set(buffer));
        }
    }
}

/// The bytes of JSON given as text or as a Buffer.
pub(crate) fn bytes(input: &Either<String, Buffer>) -> &[u8] {
    match input {
        Either::A(text) => text.as_bytes(),
        Either::B(buffer) => buffer,
    }
}
