//! Python objects to JSON values and back, without going through JSON text.

use std::borrow::Cow;
use std::sync::atomic::{AtomicBool, Ordering};

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{
    PyBool, PyByteArray, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple,
};
use serde_json::{Map, Number, Value};

/// The most dicts and lists nested in one another, as the core's JSON parser
/// (serde_json) takes them from text: deeper is refused, rather than
/// overflowing the stack on a self-referencing dict.
const MAX_NESTING: usize = 127;

extern "C" {
    // In every CPython 3 and in the limited API from 3.10 on; only called
    // there (see `borrow_utf8_from`).
    fn PyUnicode_AsUTF8AndSize(
        unicode: *mut pyo3::ffi::PyObject,
        size: *mut pyo3::ffi::Py_ssize_t,
    ) -> *const std::ffi::c_char;
}

static BORROW_UTF8: AtomicBool = AtomicBool::new(false);

/// Called once at import: on Python 3.10 and later, strings are read from
/// their cached UTF-8 form instead of being copied through a bytes object
/// (the only way the 3.9 limited API offers), which halves the cost of
/// converting a context dict.
pub fn borrow_utf8_from(version: (u8, u8)) {
    BORROW_UTF8.store(version >= (3, 10), Ordering::Relaxed);
}

/// A Python string's text, borrowed where the interpreter allows.
pub fn text<'a>(string: &'a Bound<'_, PyString>) -> PyResult<Cow<'a, str>> {
    if BORROW_UTF8.load(Ordering::Relaxed) {
        let mut size: pyo3::ffi::Py_ssize_t = 0;
        // SAFETY: `string` is a live str object and the GIL is held; the
        // buffer belongs to the object and lives as long as it does.
        let data = unsafe { PyUnicode_AsUTF8AndSize(string.as_ptr(), &mut size) };
        if !data.is_null() {
            if let Ok(size) = usize::try_from(size) {
                // SAFETY: CPython answered a buffer of `size` bytes.
                let bytes = unsafe { std::slice::from_raw_parts(data.cast::<u8>(), size) };
                if let Ok(text) = std::str::from_utf8(bytes) {
                    return Ok(Cow::Borrowed(text));
                }
            }
        }
        // Unpaired surrogates: let the copying path raise its error.
        PyErr::take(string.py());
    }
    string.to_cow()
}

/// A Python string's text, with each lone surrogate (which no UTF-8 text
/// holds: `json.loads` makes them of `"\udc80"`) replaced by U+FFFD: for
/// text that names something (a flag key, a token), which then names
/// nothing, rather than raising.
pub fn lossy_text(string: &Bound<'_, PyString>) -> String {
    match text(string) {
        Ok(text) => text.into_owned(),
        Err(_) => string.to_string_lossy().into_owned(),
    }
}

/// Converts what `json.loads` could have produced (dict, list, tuple, str,
/// int, float, bool, None), plus `decimal.Decimal`, which boto3's resource
/// API uses for DynamoDB numbers. Anything else is a `TypeError`.
pub fn to_value(object: &Bound<'_, PyAny>) -> PyResult<Value> {
    to_value_at(object, 0)
}

fn to_value_at(object: &Bound<'_, PyAny>, depth: usize) -> PyResult<Value> {
    let nested = || PyTypeError::new_err("nested more than 127 levels deep");
    if object.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(text) = object.cast::<PyString>() {
        return Ok(Value::String(self::text(text)?.into_owned()));
    }
    if let Ok(flag) = object.cast::<PyBool>() {
        return Ok(Value::Bool(flag.is_true()));
    }
    if object.cast::<PyInt>().is_ok() {
        if let Ok(n) = object.extract::<i64>() {
            return Ok(Value::from(n));
        }
        if let Ok(n) = object.extract::<u64>() {
            return Ok(Value::from(n));
        }
        // Beyond 64 bits, a JSON number is a double, as in json.loads.
        return Ok(number(object.extract::<f64>()?));
    }
    if let Ok(float) = object.cast::<PyFloat>() {
        return Ok(number(float.value()));
    }
    if let Ok(dict) = object.cast::<PyDict>() {
        if depth >= MAX_NESTING {
            return Err(nested());
        }
        let mut map = Map::new();
        for (key, value) in dict.iter() {
            let key = key
                .cast::<PyString>()
                .map_err(|_| PyTypeError::new_err("dict keys must be strings"))?;
            map.insert(text(key)?.into_owned(), to_value_at(&value, depth + 1)?);
        }
        return Ok(Value::Object(map));
    }
    if let Ok(list) = object.cast::<PyList>() {
        if depth >= MAX_NESTING {
            return Err(nested());
        }
        return list.iter().map(|v| to_value_at(&v, depth + 1)).collect();
    }
    if let Ok(tuple) = object.cast::<PyTuple>() {
        if depth >= MAX_NESTING {
            return Err(nested());
        }
        return tuple.iter().map(|v| to_value_at(&v, depth + 1)).collect();
    }
    let type_name = object.get_type().name()?;
    if type_name.to_cow()? == "Decimal" {
        // str() of a Decimal is exact: parse it as JSON would.
        let text = object.str()?;
        let text = text.to_cow()?;
        return serde_json::from_str::<Number>(&text)
            .map(Value::Number)
            .map_err(|_| PyTypeError::new_err(format!("{text} is not a JSON number")));
    }
    Err(PyTypeError::new_err(format!(
        "a {type_name} is not a JSON value"
    )))
}

/// A double as JSON has it: NaN and the infinities have no JSON form.
fn number(value: f64) -> Value {
    Number::from_f64(value).map_or(Value::Null, Value::Number)
}

/// Converts a JSON value into the objects `json.loads` would give.
pub fn to_python<'py>(py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any()
            } else if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any()
            } else {
                PyFloat::new(py, n.as_f64().unwrap_or(f64::NAN)).into_any()
            }
        }
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(to_python(py, item)?)?;
            }
            list.into_any()
        }
        Value::Object(map) => {
            let dict = PyDict::new(py);
            for (key, item) in map {
                dict.set_item(key, to_python(py, item)?)?;
            }
            dict.into_any()
        }
    })
}

/// Whether a Python object made from this value can be shared between
/// answers: only immutable ones can. Lists and dicts are made afresh, so
/// that a caller changing one cannot change the next answer.
pub fn is_shareable(value: &Value) -> bool {
    !matches!(value, Value::Array(_) | Value::Object(_))
}

/// The bytes of a `str`, `bytes` or `bytearray` (those of `bytes` borrowed);
/// a `TypeError` with `refusal` for anything else.
pub fn bytes_of<'a>(data: &'a Bound<'_, PyAny>, refusal: &str) -> PyResult<Cow<'a, [u8]>> {
    if let Ok(bytes) = data.cast::<PyBytes>() {
        Ok(Cow::Borrowed(bytes.as_bytes()))
    } else if let Ok(text) = data.cast::<PyString>() {
        Ok(Cow::Owned(text.to_cow()?.into_owned().into_bytes()))
    } else if let Ok(array) = data.cast::<PyByteArray>() {
        Ok(Cow::Owned(array.to_vec()))
    } else {
        Err(PyTypeError::new_err(refusal.to_owned()))
    }
}

/// Milliseconds from a Python float, as the core counts time: 0 for NaN,
/// the infinities and anything not positive; saturated when too large.
pub fn millis(ms: f64) -> u64 {
    if ms.is_finite() && ms > 0.0 {
        ms as u64
    } else {
        0
    }
}
